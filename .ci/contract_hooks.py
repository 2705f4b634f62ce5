"""Schemathesis hooks for .ci/contract.sh.

One rule of the API cannot be written in JSON Schema, which cannot compare two values: in a
configuration's `server_properties`, `group.min.session.timeout.ms` must not exceed
`group.max.session.timeout.ms` (otherwise every consumer group's join would fail). The document
says so in the schema's description; the server answers 422 `validation-failed`. Bodies that break
this rule are not schema-valid requests in the API's terms, so they are not generated. Nothing
else is filtered.
"""

import schemathesis

MIN = "group.min.session.timeout.ms"
MAX = "group.max.session.timeout.ms"


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip(" \t\n\r")
        try:
            return int(text)
        except ValueError:
            return None
    return None


@schemathesis.hook
def filter_body(context, body):
    if not isinstance(body, dict):
        return True
    props = body.get("server_properties")
    if not isinstance(props, dict):
        return True
    lo, hi = _number(props.get(MIN)), _number(props.get(MAX))
    return lo is None or hi is None or lo <= hi


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """The coverage phase draws bodies without `filter_body`: drop exactly the refusal of this
    rule, for a body that breaks it, and nothing else."""
    if response.status_code != 422 or filter_body(context, case.body):
        return True
    try:
        errors = response.json().get("errors", [])
    except Exception:
        return True
    return not errors or any(e.get("field") != "server_properties." + MIN for e in errors)
