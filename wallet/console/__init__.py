"""Read models and form rules for the console (youth workers, admins, operators): plain Python, no Flask.

Each page of ``wallet/pages/console/`` asks one function here for a dataclass and renders it; every
function checks the actor's role through the same services the API calls.
"""
