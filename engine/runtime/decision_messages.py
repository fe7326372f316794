"""Why a decision-table cell is refused, as whole sentences for translation: each reason engine.runtime.feel gives
for a cell, mapped to the problem that says it (the FEEL_PROBLEM fallback carries a reason added later)."""
from __future__ import annotations

from engine.runtime.problems import N_

FEEL_PROBLEMS = {  # the reason an input cell is refused (engine.runtime.feel) -> the problem saying it
    N_("'%(fragment)s' cannot be read"):
        N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported ("
           "'%(fragment)s' cannot be read); "
           'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
           "or not(...)"),
    N_("expected %(token)s at the end"):
        N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported ("
           "expected %(token)s at the end); "
           'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
           "or not(...)"),
    N_("expected a value at the end"):
        N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported ("
           "expected a value at the end); "
           'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
           "or not(...)"),
    N_("expected %(token)s before %(found)s"):
        N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported ("
           "expected %(token)s before %(found)s); "
           'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
           "or not(...)"),
    N_("expected a value before %(found)s"):
        N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported ("
           "expected a value before %(found)s); "
           'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
           "or not(...)"),
    N_("unexpected %(found)s"):
        N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported ("
           "unexpected %(found)s); "
           'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
           "or not(...)"),
    N_("a range ends with ']', ')' or '[', not %(found)s"):
        N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported ("
           "a range ends with ']', ')' or '[', not %(found)s); "
           'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
           "or not(...)"),
    N_("'-' stands alone for any value, or before a number"):
        N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported ("
           "'-' stands alone for any value, or before a number); "
           'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
           "or not(...)"),
    N_('date(%(date_text)s) is not a date written as "YYYY-MM-DD"'):
        N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported ("
           'date(%(date_text)s) is not a date written as "YYYY-MM-DD"); '
           'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
           "or not(...)"),
    N_("the function %(function)s() is not available; compare with literal values"):
        N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported ("
           "the function %(function)s() is not available; compare with literal values); "
           'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
           "or not(...)"),
    N_('\'%(name)s\' is a name, not a value; for the text write "%(name)s"'):
        N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported ("
           '\'%(name)s\' is a name, not a value; for the text write "%(name)s"); '
           'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
           "or not(...)"),
    N_("'%(name)s' is a name or keyword; only literal values can be compared"):
        N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported ("
           "'%(name)s' is a name or keyword; only literal values can be compared); "
           'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
           "or not(...)"),
    N_("expected a value, not %(found)s"):
        N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported ("
           "expected a value, not %(found)s); "
           'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
           "or not(...)"),
    N_("%(found)s is not a number"):
        N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported ("
           "%(found)s is not a number); "
           'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
           "or not(...)"),
}
FEEL_PROBLEM = N_("row %(row)s, input '%(input)s': FEEL expression '%(text)s' is not supported (%(reason)s); "
                  'write a value ("text", 12, true), a comparison (<= 3000000), a range ([1..10]), a list ("a","b") '
                  "or not(...)")  # a reason without a problem of its own above: said in English inside
