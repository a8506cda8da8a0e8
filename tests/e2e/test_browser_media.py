"""Images in the browser (v1.1): attach by button and by paste with progress, thumbnails in
both members' pages, the lightbox by keyboard, listing photos, status and the owner's Edit."""

import base64

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import browser as chromium
from tests.e2e.browser import say, shot, wait_until
from tests.e2e.site import migrate, site_env
from tests.images import samples
from tests.servers import start_daphne

browser = chromium.browser  # fixtures
person = chromium.person


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("media-browser-site")
    env = site_env(tmp, MEDIA_ROOT=str(tmp / "media"))
    migrate(env)
    server = start_daphne(env, tmp / "daphne.log")
    server.env = env
    yield server
    server.stop()


def open_general(page: Page, site) -> None:
    page.goto(f"{site.http_url}/")
    page.get_by_role("link", name="general").click()
    expect(page.locator("#room-title")).to_have_text("general")
    expect(page.locator("#online")).not_to_have_text("0")


def image_file(name: str, data: bytes, mime: str = "image/jpeg") -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def test_attach_by_button_and_paste_and_open_the_lightbox_by_keyboard(site, person):
    one, two = person(), person()
    open_general(one, site)
    open_general(two, site)

    # By button, over a slow uplink: the progress bar moves before the image is ready.
    cdp = one.context.new_cdp_session(one)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 400_000},
    )
    big = samples.jpeg(1000, 800, noise=True, quality=95)
    assert len(big) > 400_000
    one.locator("#attach-input").set_input_files(image_file("tent.jpg", big))
    expect(one.locator("#tray progress")).to_be_visible()
    wait_until(one, "document.querySelector('#tray progress')?.value > 0")
    expect(one.locator("#tray .upload.done")).to_have_count(1, timeout=20_000)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
             "downloadThroughput": -1, "uploadThroughput": -1})  # fmt: skip
    say(one, "the tent")
    for page in (one, two):
        message = page.locator(".msg:not(.pending)", has_text="the tent")
        img = message.locator(".attachments img")
        expect(img).to_have_count(1)
        # Sized before it loads (no jump), at the image's aspect ratio (1000x800 -> 240x192).
        assert (img.get_attribute("width"), img.get_attribute("height")) == ("240", "192")
        wait_until(page, "el => el.complete && el.naturalWidth > 0", arg=img.element_handle())
    expect(one.locator("#tray")).to_be_hidden()

    # By paste, with no text: the message is the image alone.
    png = base64.b64encode(samples.png(30, 60)).decode()
    one.locator("#body").focus()
    one.evaluate(
        """b64 => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "pasted.png", {type: "image/png"}));
            const init = {clipboardData: data, bubbles: true, cancelable: true};
            const paste = new ClipboardEvent("paste", init);
            document.querySelector("#body").dispatchEvent(paste);
        }""",
        png,
    )
    expect(one.locator("#tray .upload.done")).to_have_count(1)
    one.locator("#body").press("Enter")
    pasted = two.locator(".msg .attachments img[alt='pasted.png']")
    expect(pasted).to_be_visible()
    assert (pasted.get_attribute("width"), pasted.get_attribute("height")) == ("30", "60")

    # The lightbox: opened from the keyboard, Esc closes it, focus goes back.
    thumb = two.locator(".msg", has_text="the tent").locator("button.thumb")
    thumb.focus()
    two.keyboard.press("Enter")
    dialog = two.locator("dialog.lightbox")
    expect(dialog).to_be_visible()
    expect(dialog.locator("img")).to_have_attribute("alt", "tent.jpg")
    full = dialog.locator("img").element_handle()
    wait_until(two, "i => i.complete && i.naturalWidth === 1000", arg=full)
    shot(two, "lightbox")
    two.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert two.evaluate("document.activeElement.classList.contains('thumb')")
    shot(one, "room-images")

    # A URL that stops working (as an expired one does: 403) is replaced by a fresh one: the
    # page reloads that message over HTTP.
    stale = two.locator(".msg", has_text="the tent").locator(".attachments img")
    two.evaluate("img => { img.src = img.src.replace('s=', 's=x'); }", stale.element_handle())
    wait_until(
        two,
        "() => { const i = [...document.querySelectorAll('.msg .attachments img')]"
        ".find(i => i.alt === 'tent.jpg'); return i && !i.src.includes('s=x')"
        " && i.complete && i.naturalWidth > 0; }",
    )


def test_an_image_dropped_on_the_room_is_attached(site, person):
    page = person()
    open_general(page, site)
    page.evaluate(
        """b64 => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "dropped.png", {type: "image/png"}));
            const room = document.querySelector(".room");
            const init = {dataTransfer: data, bubbles: true, cancelable: true};
            for (const type of ["dragover", "drop"]) room.dispatchEvent(new DragEvent(type, init));
        }""",
        base64.b64encode(samples.png(20, 20)).decode(),
    )
    expect(page.locator("#tray .upload.done img")).to_have_attribute("alt", "dropped.png")
    page.locator("#body").press("Enter")
    expect(page.locator(".msg:not(.pending) .attachments img[alt='dropped.png']")).to_be_visible()


def test_an_upload_cut_off_by_the_network_is_retried(site, person):
    """A lost connection (the first POST reset on its way out): the upload says so and
    offers Retry, which uploads it and leaves it ready to send."""
    page = person()
    open_general(page, site)
    attempts: list[str] = []

    def cut_first(route) -> None:
        attempts.append(route.request.method)
        if len(attempts) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/rooms/*/attachments/", cut_first)
    page.locator("#attach-input").set_input_files(image_file("retried.jpg", samples.jpeg()))
    failed = page.locator("#tray .upload.failed")
    expect(failed).to_contain_text("not uploaded")
    failed.get_by_role("button", name="Retry").click()
    expect(page.locator("#tray .upload.done img")).to_have_attribute("alt", "retried.jpg")
    assert attempts == ["POST", "POST"]
    page.locator("#body").press("Enter")
    expect(page.locator(".msg:not(.pending) .attachments img[alt='retried.jpg']")).to_be_visible()


def test_a_refused_upload_says_why_and_can_be_removed(site, person):
    page = person()
    open_general(page, site)
    page.locator("#attach-input").set_input_files(image_file("cat.jpg", samples.SVG))
    failed = page.locator("#tray .upload.failed")
    expect(failed).to_contain_text("not uploaded")
    expect(failed.get_by_role("button", name="Retry")).to_have_count(0)  # retrying cannot help
    page.locator("#body").fill("no image")
    page.locator("#body").press("Enter")
    expect(page.locator("#composer-error")).to_contain_text("retry or remove")
    failed.get_by_role("button", name="Remove cat.jpg").click()
    expect(page.locator("#tray")).to_be_hidden()
    page.locator("#body").press("Enter")
    expect(page.locator(".msg:not(.pending) .body", has_text="no image")).to_be_visible()


def test_the_owner_edits_the_listing_others_chat_and_the_room_shows_its_card(site, person):
    owner, visitor = person(), person()
    owner.goto(f"{site.http_url}/listings/")
    owner.locator("#new-listing [name=title]").fill("Two-person tent")
    owner.get_by_role("button", name="Post listing").click()
    expect(owner.locator("#listing-title")).to_have_text("Two-person tent")
    expect(owner.get_by_role("button", name="Chat with the owner")).to_be_hidden()
    owner.get_by_role("button", name="Edit").click()
    form = owner.locator("#listing-form")
    form.locator("[name=description]").fill("A scratch on the left side.")
    form.locator("[name=status]").select_option("lent")
    form.locator("[name=photo]").set_input_files(image_file("tent.jpg", samples.jpeg(120, 90)))
    form.get_by_role("button", name="Save").click()
    expect(form).to_be_hidden()
    expect(owner.locator("#listing-status")).to_have_text("Lent")
    expect(owner.locator("#listing-photo img")).to_have_attribute("width", "120")
    listing_url = owner.url
    shot(owner, "listing-owner")

    visitor.goto(listing_url)
    expect(visitor.locator("#listing-description")).to_have_text("A scratch on the left side.")
    expect(visitor.get_by_role("button", name="Edit")).to_be_hidden()
    visitor.goto(f"{site.http_url}/listings/")
    card = visitor.locator(".card", has_text="Two-person tent")
    expect(card.locator(".card-photo img")).to_be_visible()
    expect(card.locator(".status")).to_have_text("Lent")
    shot(visitor, "listings-photos")
    visitor.goto(listing_url)
    visitor.get_by_role("button", name="Chat with the owner").click()
    header = visitor.locator("#listing-card")
    expect(header).to_be_visible()
    expect(header).to_have_attribute("href", listing_url.removeprefix(site.http_url))
    expect(header.locator("img")).to_be_visible()
    expect(header.locator(".status")).to_have_text("Lent")
    expect(header).to_contain_text(owner.locator("#me").inner_text())
    say(visitor, "Can I see the scratch?")
    owner.goto(f"{site.http_url}/inbox/")
    expect(
        owner.locator("#inbox-list .card", has_text="Two-person tent").locator("img")
    ).to_be_visible()
    shot(visitor, "room-listing-card")
