"""The application's rules, between the CLI (or the web page) and the library.

Each module serves one area of the work: :mod:`.routing` (an intake into the assignment
table), :mod:`.review` (people's decisions), :mod:`.training` (learning from past years and
promoting models), :mod:`.reporting` (the year's report), :mod:`.tracking`
(handling after assignment). Services take a profile, an open
store (or None), paths and plain values, return dataclasses, and raise only the library's
errors (:mod:`router.errors`); they import no click and read no environment variable.
"""
