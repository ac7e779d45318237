"""The local sandbox account: moto in server mode plus what the patterns need and moto lacks."""
