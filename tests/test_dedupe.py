from __future__ import annotations

import pytest

from monitor.dedupe import article_url, canonical_url, fingerprint

BODY = (
    "China approved the first purchases of Nvidia's H200 artificial intelligence chips by "
    "domestic technology groups, according to people familiar with the matter. "
    "The approval covers several hundred thousand units for the country's largest cloud "
    "providers, which have been waiting for months for a decision from Beijing. "
    "Regulators had asked companies to favour domestic accelerators such as Huawei's Ascend "
    "line, but the shortage of computing power for training large models prevailed. "
    "The decision follows a visit to Beijing by Nvidia's chief executive, who has argued for "
    "months that export restrictions only push Chinese customers towards local suppliers. "
    "Analysts said the volumes would lift Nvidia's data-centre revenue in the coming quarters, "
    "although the company has already written down its inventory of chips made for China. "
    "Shares rose in after-hours trading. "
    "Nvidia declined to comment on the approvals."
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://www.scmp.com/tech/article/3341556/chips?utm_source=rss_feed&utm_medium=x",
            "https://www.scmp.com/tech/article/3341556/chips",
        ),
        ("HTTPS://WWW.Example.COM:443/a/b?fbclid=abc#comments", "https://www.example.com/a/b"),
        ("https://example.com/story?id=42&page=2", "https://example.com/story?id=42&page=2"),
        ("https://example.com/story?page=2&id=42", "https://example.com/story?id=42&page=2"),
        (
            "https://archive.is/newest/https://www.ft.com/content/bc45946e?utm_campaign=a",
            "https://www.ft.com/content/bc45946e",
        ),
        ("https://example.com", "https://example.com/"),
    ],
)
def test_canonical_url_drops_tracking_and_keeps_meaningful_query(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_leaves_non_http_ids_alone() -> None:
    assert canonical_url("urn:uuid:1225c695-cfb8") == "urn:uuid:1225c695-cfb8"


def test_syndicated_copies_with_different_boilerplate_share_a_fingerprint() -> None:
    reuters = "BEIJING, Feb 1 (Reuters) - " + BODY + "\nReporting by Staff; Editing by Desk"
    other = "Share this article\n" + BODY.upper() + "\nRead more: Nvidia H200 explained\n© 2026"
    assert fingerprint(reuters) is not None
    assert fingerprint(reuters) == fingerprint(other)


def test_different_stories_have_different_fingerprints() -> None:
    story = BODY.replace("Nvidia", "AMD").replace("Beijing", "Washington")
    assert fingerprint(story) != fingerprint(BODY)


def test_chinese_syndicated_copies_share_a_fingerprint() -> None:
    body = (
        "新华社北京11月17日电 记者17日从国家卫生健康委获悉，"
        "近阶段，相关部门持续依托短缺药品供应保障工作会商联动机制，深入开展短缺药品监测预警和分级应对。"
        "国家卫生健康委有关负责人表示，将进一步完善短缺药品清单管理制度，"
        "加强部门协同，全力保障临床用药需求，推动药品稳价保供工作取得实效。"
        "下一步，各地将加大对重点药品的监测力度，及时发现并处置苗头性问题。"
    )
    assert fingerprint("【来源：新华网】" + body) == fingerprint(body + "（责任编辑：张三）")


def test_short_text_has_no_fingerprint() -> None:
    assert fingerprint("Nvidia shares rose 3% on Monday.") is None


def test_article_is_keyed_by_final_url_after_a_redirector_or_a_move_within_the_site() -> None:
    google = "https://news.google.com/rss/articles/CBMipwFBVV95cUxPZzNz?oc=5"
    publisher = "https://www.cna.com.tw/news/aipl/202607140123.aspx?utm_source=gnews"
    assert article_url(google, publisher) == "https://www.cna.com.tw/news/aipl/202607140123.aspx"
    assert article_url("http://example.com/a?id=1", "https://www.example.com/a/?id=1") == (
        canonical_url("https://www.example.com/a/?id=1")
    )


def test_redirect_to_another_site_does_not_become_the_article_url() -> None:
    link = "https://www.ft.com/content/bc45946e"
    assert article_url(link, "https://consent.example.net/?return=ft") == link
    assert article_url(link, None) == link
