# mypy-session marker stub for Airflow's session helpers.
#
# provide_session is not a marker: a function it decorates keeps
# `session: Session = NEW_SESSION`, a session parameter with a default, which the plugin
# already treats as an optional session parameter (pattern A). NEW_SESSION itself needs
# no marker: passing it explicitly is passing the sentinel `None`.
from mypy_session import ScopeOpener

@ScopeOpener
def create_session(scoped: bool = True): ...
@ScopeOpener
def create_session_async(): ...
