"""The shape SSP/1 section 9 gives a batch's events and gap (SSP-CLIENT-19), shared by a plain
session's batches (ssp_client.py) and a multiplexed session's stream parts (ssp_multiplex.py,
section 23.4: each part follows section 9)."""


def is_int(value, least=0):
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def events_problem(events, gap, accept_inverted=False, accept_not_adjacent=False):
    """Why events and gap are invalid, or None. The accept_ flags are broken variants' faults."""
    if not isinstance(events, list) or not all(isinstance(e, dict) and is_int(e.get("seq"), 1) and "data" in e for e in events):
        return "invalid events"
    if gap is None:
        return None
    if not (isinstance(gap, dict) and is_int(gap.get("from"), 1) and is_int(gap.get("to"), 1)):
        return "invalid gap"
    # An inverted gap is invalid, not a loss.
    if gap["from"] > gap["to"] and not accept_inverted:
        return "gap from > to"
    # So is a gap whose events do not go on at gap.to + 1 (SSP-DELIVERY-14).
    if events and events[0]["seq"] != gap["to"] + 1 and not accept_not_adjacent:
        return f"gap to {gap['to']} followed by seq {events[0]['seq']}"
    return None
