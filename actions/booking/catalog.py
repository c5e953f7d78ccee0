"""The demo catalog and the rolling inventory window.

``seed`` fills an empty database with three pousadas and hotels and one tour operator, with
seasons, weekday rates, taxes and fees; ``extend_inventory`` keeps a year of inventory ahead.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.booking.tables import Inventory, Product, Property, Rate, Season
from bot.stores.database import Database, insert_rows

INVENTORY_DAYS = 400
INVENTORY = cast(Table, Inventory.__table__)
FRIDAY, SATURDAY = 4, 5

DEMO: list[dict[str, Any]] = [
    {
        "slug": "pousada-do-mar", "name": "Pousada do Mar", "kind": "pousada", "city": "Ubatuba",
        "tax_percent": 5, "fee_per_stay": 4000,
        "products": [
            ("standard", "room", {"pt_BR": "Quarto Standard", "en": "Standard Room",
                                  "es": "Habitación Estándar"}, 2, 1, 32000, 4),
            ("ocean-view", "room", {"pt_BR": "Quarto Vista Mar", "en": "Ocean View Room",
                                    "es": "Habitación Vista al Mar"}, 2, 2, 45000, 3),
            ("family-chalet", "room", {"pt_BR": "Chalé Família", "en": "Family Chalet",
                                       "es": "Chalé Familiar"}, 4, 3, 62000, 1),
        ],
    },
    {
        "slug": "pousada-sol-nascente", "name": "Pousada Sol Nascente", "kind": "pousada",
        "city": "Paraty", "tax_percent": 5, "fee_per_stay": 3000,
        "products": [
            ("double", "room", {"pt_BR": "Quarto Duplo", "en": "Double Room",
                                "es": "Habitación Doble"}, 2, 1, 28000, 6),
            ("suite", "room", {"pt_BR": "Suíte com Varanda", "en": "Suite with Balcony",
                               "es": "Suite con Balcón"}, 3, 1, 39000, 2),
        ],
    },
    {
        "slug": "hotel-serra-azul", "name": "Hotel Serra Azul", "kind": "hotel",
        "city": "Campos do Jordão", "tax_percent": 10, "fee_per_stay": 0,
        "products": [
            ("classic", "room", {"pt_BR": "Apartamento Clássico", "en": "Classic Room",
                                 "es": "Habitación Clásica"}, 2, 2, 52000, 10),
            ("fireplace", "room", {"pt_BR": "Suíte com Lareira", "en": "Fireplace Suite",
                                   "es": "Suite con Chimenea"}, 2, 1, 78000, 4),
        ],
    },
    {
        "slug": "eco-tours-paraty", "name": "Eco Tours Paraty", "kind": "tour_operator",
        "city": "Paraty", "tax_percent": 0, "fee_per_stay": 0,
        "free_cancel_days": 2, "partial_cancel_days": 1, "partial_refund_percent": 50,
        "products": [
            ("schooner", "tour", {"pt_BR": "Passeio de Escuna pelas Ilhas",
                                  "en": "Island Schooner Tour",
                                  "es": "Paseo en Goleta por las Islas"}, 30, 30, 12000, 40),
            ("jeep-waterfalls", "tour", {"pt_BR": "Jipe das Cachoeiras",
                                         "en": "Waterfalls Jeep Trail",
                                         "es": "Jeep de las Cascadas"}, 12, 12, 18000, 12),
        ],
    },
]  # fmt: skip


def demo_seasons(today: date) -> list[tuple[str, date, date, int, int]]:
    """(name, from, to, minimum stay, rate percent) for this and next year's high seasons."""
    seasons = []
    for year in (today.year - 1, today.year, today.year + 1):
        seasons += [
            ("Réveillon", date(year, 12, 28), date(year + 1, 1, 2), 4, 180),
            (
                "Alta temporada",
                date(year, 12, 15),
                date(year + 1, 3, 1) - timedelta(days=1),
                2,
                130,
            ),
            ("Férias de julho", date(year, 7, 1), date(year, 7, 31), 2, 120),
        ]
    return seasons


async def seed(database: Database, today: date) -> bool:
    """Fill an empty catalog with the demo; False when there already is a catalog."""
    async with database.session() as session:
        if await session.scalar(select(func.count()).select_from(Property)):
            return False
        for spec in DEMO:
            await _add_property(session, spec, today)
    await extend_inventory(database, today)
    return True


async def _add_property(session: AsyncSession, spec: dict[str, Any], today: date) -> None:
    fields = {key: value for key, value in spec.items() if key != "products"}
    place = Property(**fields)
    session.add(place)
    await session.flush()
    seasons = []
    for name, starts_on, ends_on, min_stay, percent in demo_seasons(today):
        season = Season(
            property_id=place.id,
            name=name,
            starts_on=starts_on,
            ends_on=ends_on,
            min_stay=min_stay if spec["kind"] != "tour_operator" else 1,
        )
        session.add(season)
        seasons.append((season, percent))
    await session.flush()
    for code, kind, names, max_adults, max_children, base, units in spec["products"]:
        product = Product(
            property_id=place.id,
            code=code,
            kind=kind,
            names=names,
            units=units,
            max_adults=max_adults,
            max_children=max_children,
        )
        session.add(product)
        await session.flush()
        session.add(Rate(product_id=product.id, season_id=None, weekday=None, amount=base))
        if kind == "room":
            for weekday in (FRIDAY, SATURDAY):
                session.add(
                    Rate(
                        product_id=product.id,
                        season_id=None,
                        weekday=weekday,
                        amount=base * 120 // 100,
                    )
                )
        for season, percent in seasons:
            session.add(
                Rate(
                    product_id=product.id,
                    season_id=season.id,
                    weekday=None,
                    amount=base * percent // 100,
                )
            )


async def extend_inventory(database: Database, today: date, days: int = INVENTORY_DAYS) -> int:
    """Open inventory for every product up to ``days`` ahead; returns the days added.

    Only the days after each product's last open day are written, so an hourly pass is one
    small query once the year ahead exists."""
    horizon = today + timedelta(days=days)
    async with database.session() as session:
        latest = await session.execute(
            select(Inventory.product_id, func.max(Inventory.day)).group_by(Inventory.product_id)
        )
        last_days: dict[int, date] = {product_id: day for product_id, day in latest}
        products = (await session.scalars(select(Product))).all()
        rows = []
        for product in products:
            start = (
                max(today, last_days[product.id] + timedelta(days=1))
                if product.id in last_days
                else today
            )
            rows += [
                {
                    "product_id": product.id,
                    "day": start + timedelta(days=offset),
                    "total": product.units,
                    "taken": 0,
                }
                for offset in range((horizon - start).days)
            ]
        # Another process may have opened some of them meanwhile.
        return await insert_rows(session, INVENTORY, rows, unless_taken=("product_id", "day"))
