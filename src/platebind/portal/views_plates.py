"""我的帳單 → 北市停車費 → 新增綁定, and each plate's page with its owner's tools."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response

from platebind.api.deps import request_id
from platebind.errors import DomainError
from platebind.plates import VehicleType, plate_formats
from platebind.portal import bills as member_bills_module
from platebind.portal import notifications, reminders, service
from platebind.portal.web import PREFIX, MemberForm, MemberPage, Page
from platebind.registry import transfers
from platebind.registry.service import PlateKey

router = APIRouter(prefix=PREFIX, include_in_schema=False)

ShortField = Annotated[str, Form(max_length=100)]
VEHICLE_TYPES = tuple(t.value for t in VehicleType)


def plate_url(key: PlateKey) -> str:
    return f"{PREFIX}/plates/{key.vehicle_type}/{key.plate}"


def _listed_key(current: Page, vehicle_type: str, plate: str) -> PlateKey:
    """The path's plate, which must be on the member's list (else ``plate_not_on_list``: the
    same answer for a plate that exists, one that does not, and one that is malformed)."""
    assert current.member is not None
    try:
        key = service.identify(vehicle_type, plate)
    except DomainError:
        key = None
    if key is None or not service.is_listed(current.db, current.member, key):
        raise service.PlateNotOnList(f"{plate} ({vehicle_type}) is not on your list")
    return key


def _form_context(vehicle_type: str, plate: str) -> dict[str, Any]:
    return {
        "vehicle_types": VEHICLE_TYPES,
        "vehicle_type": vehicle_type if vehicle_type in VEHICLE_TYPES else "car",
        "plate": plate[:20],
        "formats": {t: _format_examples(t) for t in VEHICLE_TYPES},
    }


def _format_examples(vehicle_type: str) -> str:
    """The accepted forms as examples only (``ABC-1234, AB-1234, 1234-AB``): the registry's
    descriptions after them are English."""
    return ", ".join(form.split(" (")[0] for form in plate_formats(vehicle_type))


@router.get("/bills")
def bills(current: MemberPage, kind: str | None = None) -> Response:
    assert current.member is not None
    shown_kind = kind if kind in member_bills_module.BILL_KINDS else None
    return current.render(
        "bills.html",
        plates=service.my_plates(current.db, current.member),
        bills=member_bills_module.member_bills(current.db, current.member, kind=shown_kind),
        kind=shown_kind,
    )


@router.post("/bills/reminders")
def bill_reminders(
    current: MemberForm, wanted: Annotated[str, Form(max_length=5)] = "off"
) -> Response:
    """Ask for (or stop) an e-mail three days before a bill is due."""
    assert current.member is not None
    reminders.set_bill_reminders(current.member, wanted == "on")
    return current.redirect(f"{PREFIX}/bills")


@router.post("/bills/{bill_id}/pay")
def pay_bill(current: MemberForm, bill_id: uuid.UUID) -> Response:
    assert current.member is not None
    try:
        payment = member_bills_module.pay(
            current.db,
            current.now,
            current.member,
            bill_id,
            current.request.app.state.payment_step,
            request_id(current.request),
        )
    except DomainError as refused:
        return current.refused("error.html", refused)
    return current.render("bill_paid.html", payment=payment)


@router.get("/bills/parking")
def parking(current: MemberPage) -> Response:
    assert current.member is not None
    cards = [
        service.overview(current.db, current.member, key, current.now)
        for key in (
            service.identify(p.vehicle_type, p.plate)
            for p in service.my_plates(current.db, current.member)
        )
    ]
    return current.render("parking.html", cards=cards)


@router.get("/plates")
def add_plate_form(current: MemberPage, vehicle_type: str = "car", plate: str = "") -> Response:
    return current.render("add_plate.html", error=None, **_form_context(vehicle_type, plate))


@router.post("/plates")
def add_plate(current: MemberForm, vehicle_type: ShortField, plate: ShortField) -> Response:
    assert current.member is not None
    shown = _form_context(vehicle_type, plate)
    try:
        key = service.identify(vehicle_type, plate)
        if not service.is_listed(current.db, current.member, key):
            current.count(service.LOOKUPS_PER_ADDRESS, current.client_address)
            current.count(service.LOOKUPS_PER_MEMBER, str(current.member.id))
            service.add_plate(current.db, current.member, key, current.now)
    except DomainError as refused:
        return current.refused("add_plate.html", refused, **shown)
    return current.redirect(plate_url(key))


def _plate_page(
    current: Page, key: PlateKey, issued: transfers.IssuedCode | None = None
) -> Response:
    assert current.member is not None
    facts = service.overview(current.db, current.member, key, current.now)
    owner_tools: dict[str, Any] = {"codes": [], "watching": set()}
    if facts.owned:
        owner_tools = {
            "codes": service.transfer_codes(current.db, current.member, key, current.now),
            "watching": notifications.pending_watches(current.db, current.member, key),
        }
    bills = member_bills_module.member_bills(current.db, current.member, plate=key)
    return current.render("plate.html", facts=facts, issued=issued, bills=bills, **owner_tools)


@router.get("/plates/{vehicle_type}/{plate}")
def plate_page(current: MemberPage, vehicle_type: str, plate: str) -> Response:
    try:
        return _plate_page(current, _listed_key(current, vehicle_type, plate))
    except DomainError as refused:
        return current.refused("error.html", refused)


@router.post("/plates/{vehicle_type}/{plate}/remove")
def remove_plate(current: MemberForm, vehicle_type: str, plate: str) -> Response:
    assert current.member is not None
    try:
        service.remove_plate(current.db, current.member, _listed_key(current, vehicle_type, plate))
    except DomainError as refused:
        return current.refused("error.html", refused)
    return current.redirect(f"{PREFIX}/bills/parking")


@router.post("/plates/{vehicle_type}/{plate}/transfer-codes")
def issue_transfer_code(
    current: MemberForm, vehicle_type: str, plate: str, scope: ShortField
) -> Response:
    """The code is in this response only; htmx swaps it into the page, a plain form post gets
    the whole page with it."""
    assert current.member is not None
    try:
        key = _listed_key(current, vehicle_type, plate)
        # An unknown scope is refused by the registry's service (scope_not_found).
        issued = service.issue_transfer_code(
            current.db, current.clock, current.member, key, scope, request_id(current.request)
        )
    except DomainError as refused:
        return current.refused("error.html", refused)
    if current.is_htmx:
        # The code, and the list of codes swapped out of band so it shows the new one.
        codes = service.transfer_codes(current.db, current.member, key, current.now)
        return current.render("_issued_code.html", issued=issued, codes=codes, swap_codes=True)
    return _plate_page(current, key, issued)


@router.get("/plates/{vehicle_type}/{plate}/history")
def plate_history(current: MemberPage, vehicle_type: str, plate: str) -> Response:
    assert current.member is not None
    try:
        key = _listed_key(current, vehicle_type, plate)
        timeline = service.history(current.db, current.member, key)
    except DomainError as refused:
        return current.refused("error.html", refused)
    return current.render("history.html", key=key, timeline=timeline)


@router.post("/plates/{vehicle_type}/{plate}/watch")
def watch_change(current: MemberForm, vehicle_type: str, plate: str, scope: ShortField) -> Response:
    assert current.member is not None
    try:
        key = _listed_key(current, vehicle_type, plate)
        watch = notifications.watch_change(current.db, current.member, key, scope, current.now)
    except DomainError as refused:
        return current.refused("error.html", refused)
    if current.is_htmx:
        return current.render("_watching.html", effective_at=watch.effective_at)
    return current.redirect(plate_url(key))


@router.get("/notices")
def notices(current: MemberPage) -> Response:
    assert current.member is not None
    shown = notifications.notices_of(current.db, current.member)
    unread = {n.id for n in shown if n.read_at is None}
    # Read once shown: the page's own badge already counts them as read.
    notifications.mark_read(current.db, current.member, current.now)
    return current.render("notices.html", notices=shown, unread=unread)
