"""The one assertion helper of the moto extension's and the S3 proxy's self-tests."""


class CheckFailed(Exception):
    pass


def check(condition, what, detail=""):
    """Prints `ok - what`, or raises with the detail."""
    if not condition:
        raise CheckFailed(f"{what}: {detail}" if detail else what)
    print(f"ok - {what}", flush=True)
