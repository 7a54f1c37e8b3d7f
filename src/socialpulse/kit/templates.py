"""Reply templates as users write them: "Thanks, {fan_name}!". Only the named variables below,
no attribute access or format specs: user text is never passed to `str.format`.

Shared by the workflow actions of the inbox and the per-workspace response templates of the
AI domain (which the inbox reads), so both accept and render exactly the same text.
"""

from __future__ import annotations

import string

MAX_TEMPLATE_LENGTH = 2000
TEMPLATE_VARIABLES = ("fan_name", "fan_handle", "platform", "post_url")


def template_variables(template: str) -> list[str]:
    """The variable names a template uses; raises ValueError for anything but plain names."""
    names = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(
            f"template is malformed ({exc}); write literal braces as {{{{ }}}}"
        ) from exc
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in TEMPLATE_VARIABLES:
            known = ", ".join("{" + v + "}" for v in TEMPLATE_VARIABLES)
            raise ValueError(f"unknown template variable {{{name}}}; use {known}")
        if spec or conversion:
            raise ValueError(f"template variable {{{name}}} takes no format or conversion")
        names.append(name)
    return names


def render_template(template: str, values: dict[str, str], *, keep_missing: bool = False) -> str:
    """Substitute the known variables (no attribute access, no format specs: never str.format
    on user templates with objects). A variable without a value becomes "", or stays as its
    {placeholder} with `keep_missing` (for a caller who fills it in later)."""
    out = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            if name in values:
                out.append(values[name])
            else:
                out.append("{" + name + "}" if keep_missing else "")
    return "".join(out).strip()
