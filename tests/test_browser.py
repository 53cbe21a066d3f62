"""A person in headless Chromium: sign in at the IdP's form, see the home page, sign out."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from devstack.testing import serve

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def live_url(app):
    """The app served over real HTTP on a free loopback port."""
    with serve(app) as url:
        yield url


@pytest.fixture
def page():
    """A fresh Chromium page (Debian's chromium; Playwright downloads nothing)."""
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: apt-get install chromium (make test does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        # A fixed window, so the README's screenshots keep their size from one run to the next.
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        yield context.new_page()
        context.close()
        browser.close()


@pytest.fixture
def csp_reports(page):
    """What Chromium says on the console about the Content Security Policy (violations)."""
    reports: list[str] = []

    def listen(message) -> None:
        if "Content Security Policy" in message.text:
            reports.append(message.text)

    page.on("console", listen)
    return reports


def use_login_form(page, live_url: str, username: str, password: str) -> None:
    """Click Sign in on the home page, then fill and send the IdP's form as a person would."""
    page.goto(live_url + "/")
    page.get_by_role("link", name="Sign in").first.click()
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit], form input[type=submit]").first.click()


def test_alice_signs_in_sees_home_and_signs_out(page, live_url, devstack):
    use_login_form(page, live_url, "alice", "alice-password")
    page.wait_for_url(live_url + "/")
    assert page.get_by_role("heading", name="Signed in as Alice Admin").is_visible()
    assert page.get_by_text("Choose a role").first.is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(live_url + "/")
    assert page.get_by_role("heading", name="Welcome").is_visible()
    cookies = {c["name"] for c in page.context.cookies(live_url)}
    assert "session" not in cookies


def test_bob_sees_his_reader_role(page, live_url, devstack):
    use_login_form(page, live_url, "bob", "bob-password")
    page.wait_for_url(live_url + "/")
    assert page.get_by_text("portal-reader").first.is_visible()


def test_wrong_password_stays_at_the_idp(page, live_url, devstack):
    use_login_form(page, live_url, "alice", "not-her-password")
    assert page.url.startswith(devstack.issuer)
    assert page.locator("input[name=password]").is_visible()


def test_bob_browses_downloads_and_opens_the_console(page, live_url, devstack):
    use_login_form(page, live_url, "bob", "bob-password")
    page.wait_for_url(live_url + "/")
    page.get_by_role("link", name="See your AWS resources").click()
    assert page.get_by_text("Not permitted for portal-reader.").first.is_visible()
    page.get_by_role("link", name="shared-docs").click()
    with page.expect_response(lambda r: "X-Amz-Signature" in r.url) as download:
        page.get_by_role("link", name="README.txt").click()
    assert download.value.status == 200  # the presigned URL, served by the local S3
    page.goto(live_url + "/resources/s3/private-finance")
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    page.goto(live_url + "/resources")
    with page.context.expect_page() as opened:  # the console opens in a tab of its own
        page.get_by_role("button", name="Open AWS console").click()
    console = opened.value
    console.wait_for_load_state()
    assert console.url.startswith(devstack.aws_url + "/federation?Action=login")
    assert console.get_by_text("assumed-role/portal-reader").first.is_visible()


def test_cli_credentials_need_the_reveal_button(page, live_url, devstack):
    use_login_form(page, live_url, "bob", "bob-password")
    page.wait_for_url(live_url + "/")
    page.goto(live_url + "/resources/credentials")
    assert "AWS_SECRET_ACCESS_KEY=" not in page.content()
    page.locator("form button[type=submit]", has_text="Show").first.click()
    assert "export AWS_SECRET_ACCESS_KEY=" in page.content()


def test_the_console_listener_sees_a_csp_violation(app, page, csp_reports):
    # The control for the test below: an inline script and style, as an injection would add.
    @app.get("/_probe/inline")
    def inline():
        return '<p style="color: red">x</p><script>document.title = "ran"</script>'

    with serve(app) as url:
        page.goto(url + "/_probe/inline")
        assert page.title() != "ran"
    assert len(csp_reports) == 2, csp_reports


def test_pages_and_sign_out_work_under_the_csp(page, live_url, devstack, csp_reports):
    use_login_form(page, live_url, "alice", "alice-password")
    page.wait_for_url(live_url + "/")
    assert page.get_by_role("heading", name="Signed in as Alice Admin").is_visible()
    page.get_by_role("link", name="Admin").click()
    page.wait_for_url(live_url + "/admin/tokens")
    assert page.get_by_text("ID token").first.is_visible()
    # A form POST whose answer redirects to the IdP, which redirects back: form-action must
    # allow every hop.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(live_url + "/")
    assert page.get_by_role("heading", name="Welcome").is_visible()
    assert csp_reports == []


def test_typing_in_the_filter_narrows_every_panel_without_a_request(
    page, live_url, devstack, csp_reports
):
    use_login_form(page, live_url, "bob", "bob-password")
    page.wait_for_url(live_url + "/")
    page.goto(live_url + "/resources")
    s3, dynamodb = page.locator("#panel-s3"), page.locator("#panel-dynamodb")
    assert s3.get_by_role("link", name="private-finance").is_visible()
    assert dynamodb.get_by_text("portal-projects").is_visible()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.get_by_label("Filter by name or tag value").press_sequentially("SHARED")
    assert s3.get_by_role("link", name="shared-docs").is_visible()
    assert s3.get_by_role("link", name="shared-big").is_visible()
    assert not s3.get_by_role("link", name="private-finance").is_visible()
    assert not dynamodb.get_by_text("portal-projects").is_visible()
    assert dynamodb.get_by_text("No match.").is_visible()
    page.get_by_label("Filter by name or tag value").press("Enter")  # filters, sends nothing
    assert requests == []  # the page already holds every row: no request, so no AWS call
    page.get_by_label("Filter by name or tag value").fill("")
    assert s3.get_by_role("link", name="private-finance").is_visible()
    assert not dynamodb.get_by_text("No match.").is_visible()
    assert csp_reports == []


# The README's screenshot tour, in order: file name, and what the page must show first.
TOUR = [
    "01-sign-in",
    "02-home",
    "03-role-picker",
    "04-resources",
    "05-bucket",
    "06-admin-tokens",
    "07-admin-sessions",
    "08-sts-error",
]


def test_screenshot_tour(page, live_url, devstack, tmp_path):
    """Walk the README's tour as alice; with SCREENSHOTS=DIR (make screenshots) keep the PNGs."""
    folder = Path(os.environ.get("SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    taken: list[str] = []

    def shoot(name: str, shows: str) -> None:
        page.get_by_text(shows).first.wait_for()
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        taken.append(name)

    page.goto(live_url + "/")
    page.get_by_role("link", name="Sign in").first.click()
    shoot("01-sign-in", "Password")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "alice-password")
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_url(live_url + "/")
    shoot("02-home", "Alice Admin")
    page.goto(live_url + "/roles")
    shoot("03-role-picker", "Sandbox")
    page.get_by_role("button", name="Use Administrator").click()
    page.goto(live_url + "/resources")
    shoot("04-resources", "shared-docs")
    page.get_by_role("link", name="shared-docs").first.click()
    shoot("05-bucket", "handbook/")
    page.goto(live_url + "/admin/tokens")
    shoot("06-admin-tokens", "ID token")
    page.goto(live_url + "/admin/sessions")
    shoot("07-admin-sessions", "alice@example.com")
    # The error this product exists to explain: STS refusing a token's audience.
    devstack.aws(
        "POST",
        "_devstack/misbehave",
        json={
            "sts_error": {
                "code": "InvalidIdentityToken",
                "message": "Incorrect token audience",
                "times": 9,
            }
        },
    )
    page.goto(live_url + "/roles")
    page.get_by_role("button", name="Use Reader").click()
    page.goto(live_url + "/resources")
    shoot("08-sts-error", "Incorrect token audience")
    assert taken == TOUR
    assert all((folder / f"{name}.png").stat().st_size > 10_000 for name in TOUR)
