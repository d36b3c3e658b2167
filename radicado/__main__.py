from radicado.cli import main

main()
