"""Who may see what: users and roles (users.py), area scope applied to a database connection (scope.py),
and the `python -m access` command that manages users. No Streamlit here; ui/auth.py is the login screen."""
