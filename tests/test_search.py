"""The overview's filter without JavaScript: ?q= narrows every panel on the server."""

from __future__ import annotations

import re

from webapp.resources import get_service
from webapp.resources.search import search_filter, search_text


def shown(page: str, panel: str) -> list[str]:
    """The visible rows of one overview panel (rows the filter hides carry `hidden`)."""
    section = page[page.index(f'id="panel-{panel}"') :]
    section = section[: section.index("</section>")]
    return re.findall(r'<li data-search="[^"]*">(?:<a [^>]*>)?([^<]+)', section)


def test_the_filter_narrows_every_panel_server_side(client, auth):
    auth.login("bob")
    everything = client.get("/resources").get_data(as_text=True)
    assert 'id="res-filter"' in everything and "filter.js" in everything
    assert "private-finance" in shown(everything, "s3")
    page = client.get("/resources?q=SHARED").get_data(as_text=True)
    assert sorted(shown(page, "s3")) == ["shared-big", "shared-docs", "shared-eu-reports"]
    assert shown(page, "dynamodb") == []
    dynamodb = page[page.index('id="panel-dynamodb"') :]
    assert '<p class="muted res-nomatch">No match.</p>' in dynamodb[: dynamodb.index("</section>")]
    assert 'value="SHARED"' in page


def test_the_query_is_escaped_and_bounded(client, auth):
    auth.login("bob")
    page = client.get('/resources?q="><script>x</script>' + "a" * 500).get_data(as_text=True)
    assert "<script>x</script>" not in page
    box = page[page.index('id="res-filter"') :]
    box = box[: box.index(">")]
    assert "a" * 180 in box and "a" * 201 not in box and "&#34;&gt;&lt;script&gt;" in box


def test_rows_are_found_by_name_and_tag_values():
    ec2 = get_service("ec2")
    item = ec2.item_type(
        **{f: "" for f in ec2.item_type.__dataclass_fields__}
        | {ec2.columns[0].attr: "i-0abc", "name": "Portal-Web-1"}
    )
    assert search_text(ec2, item) == "i-0abc portal-web-1"
    assert search_filter(ec2, [item], "WEB") == [item]
    assert search_filter(ec2, [item], "batch") == []
