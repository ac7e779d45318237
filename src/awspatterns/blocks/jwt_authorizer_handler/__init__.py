"""The code of the JWT authorizer function (``index.py``), packaged on its own as the function's asset."""
