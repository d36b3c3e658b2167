from conftest import NOW, Cast
from radicado.tickets.models import Ticket


def test_each_workspace_numbers_its_tickets_from_one(cast: Cast) -> None:
    a = sorted(Ticket.objects.filter(workspace=cast.ws_a).values_list("number", flat=True))
    b = sorted(Ticket.objects.filter(workspace=cast.ws_b).values_list("number", flat=True))
    assert a == [1, 2, 3]
    assert b == [1]
    assert cast.tickets["A-3"].reference == "AND-000003"
    assert cast.tickets["B-1"].created_at == NOW
