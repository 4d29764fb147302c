"""Small helpers shared by the browser tests."""
import time


def wait_until(predicate, page, timeout=10.0):
    """Poll ``predicate`` while letting the browser run (Playwright's sync API only delivers
    events, such as route handlers, while one of its calls is waiting)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        page.wait_for_timeout(100)
    return predicate()


def press(page, key, times=1):
    for _ in range(times):
        page.keyboard.press(key)
