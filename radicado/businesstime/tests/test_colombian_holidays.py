"""Colombian public holidays 2025-2027 against the published lists (see ADR 0100).

Written by hand from the official calendars: Ley 51 de 1983 (Ley Emiliani) moves most
holidays to the following Monday, and Ley 2578 de 2026 adds 9 July (Our Lady of the Rosary
of Chiquinquirá, also moved to Monday) from 2026: 18 holidays a year through 2025, 19 after.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import holidays
import pytest

from radicado.businesstime import Calendar
from radicado.businesstime.compiler import holiday_dates
from radicado.businesstime.spec import HolidaySource

PUBLISHED: dict[int, list[tuple[str, str]]] = {
    2025: [
        ("2025-01-01", "Año Nuevo"),
        ("2025-01-06", "Reyes Magos"),
        ("2025-03-24", "San José"),
        ("2025-04-17", "Jueves Santo"),
        ("2025-04-18", "Viernes Santo"),
        ("2025-05-01", "Día del Trabajo"),
        ("2025-06-02", "Ascensión del Señor"),
        ("2025-06-23", "Corpus Christi"),
        ("2025-06-30", "Sagrado Corazón"),
        ("2025-06-30", "San Pedro y San Pablo"),  # both moved to the same Monday
        ("2025-07-20", "Día de la Independencia"),
        ("2025-08-07", "Batalla de Boyacá"),
        ("2025-08-18", "La Asunción"),
        ("2025-10-13", "Día de la Raza"),
        ("2025-11-03", "Todos los Santos"),
        ("2025-11-17", "Independencia de Cartagena"),
        ("2025-12-08", "Inmaculada Concepción"),
        ("2025-12-25", "Navidad"),
    ],
    2026: [
        ("2026-01-01", "Año Nuevo"),
        ("2026-01-12", "Reyes Magos"),
        ("2026-03-23", "San José"),
        ("2026-04-02", "Jueves Santo"),
        ("2026-04-03", "Viernes Santo"),
        ("2026-05-01", "Día del Trabajo"),
        ("2026-05-18", "Ascensión del Señor"),
        ("2026-06-08", "Corpus Christi"),
        ("2026-06-15", "Sagrado Corazón"),
        ("2026-06-29", "San Pedro y San Pablo"),
        ("2026-07-13", "Nuestra Señora del Rosario de Chiquinquirá"),
        ("2026-07-20", "Día de la Independencia"),
        ("2026-08-07", "Batalla de Boyacá"),
        ("2026-08-17", "La Asunción"),
        ("2026-10-12", "Día de la Raza"),
        ("2026-11-02", "Todos los Santos"),
        ("2026-11-16", "Independencia de Cartagena"),
        ("2026-12-08", "Inmaculada Concepción"),
        ("2026-12-25", "Navidad"),
    ],
    2027: [
        ("2027-01-01", "Año Nuevo"),
        ("2027-01-11", "Reyes Magos"),
        ("2027-03-22", "San José"),
        ("2027-03-25", "Jueves Santo"),
        ("2027-03-26", "Viernes Santo"),
        ("2027-05-01", "Día del Trabajo"),
        ("2027-05-10", "Ascensión del Señor"),
        ("2027-05-31", "Corpus Christi"),
        ("2027-06-07", "Sagrado Corazón"),
        ("2027-07-05", "San Pedro y San Pablo"),
        ("2027-07-12", "Nuestra Señora del Rosario de Chiquinquirá"),
        ("2027-07-20", "Día de la Independencia"),
        ("2027-08-07", "Batalla de Boyacá"),
        ("2027-08-16", "La Asunción"),
        ("2027-10-18", "Día de la Raza"),
        ("2027-11-01", "Todos los Santos"),
        ("2027-11-15", "Independencia de Cartagena"),
        ("2027-12-08", "Inmaculada Concepción"),
        ("2027-12-25", "Navidad"),
    ],
}
COLOMBIA = HolidaySource("CO")
BOGOTA = ZoneInfo("America/Bogota")


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_calendar_holidays_match_the_published_dates(year: int) -> None:
    assert holiday_dates(COLOMBIA, year) == {date.fromisoformat(d) for d, _ in PUBLISHED[year]}


@pytest.mark.parametrize(("year", "count"), [(2025, 18), (2026, 19), (2027, 19)])
def test_18_holidays_a_year_until_2025_and_19_from_2026(year: int, count: int) -> None:
    found = holidays.country_holidays("CO", years=year, language="es")
    names = [name for day in sorted(found) for name in found.get_list(day)]
    assert len(names) == len(PUBLISHED[year]) == count


def test_chiquinquira_is_a_holiday_from_2026_only() -> None:
    assert date(2026, 7, 13) in holiday_dates(COLOMBIA, 2026)
    assert date(2025, 7, 14) not in holiday_dates(COLOMBIA, 2025)  # the Monday after 9 July


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_a_colombian_office_is_closed_on_weekday_holidays(year: int) -> None:
    calendar = Calendar.from_json(
        {
            "timezone": "America/Bogota",
            "week": {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": {"country": "CO", "subdivision": None},
        }
    )
    for text, _ in PUBLISHED[year]:
        noon = datetime.combine(date.fromisoformat(text), time(12), BOGOTA)
        assert not calendar.is_open(noon), text
    assert calendar.is_open(datetime(year, 2, 10, 12, tzinfo=BOGOTA)) == (date(year, 2, 10).weekday() < 5)
