"""Small markdown forms for the forms tests: one valid base, changed one cell at a time.

``BASE`` passes every project rule, as a confidential form (encrypted, no location, no free
text but a regex-constrained staff code). Each rule test breaks one thing in it, so a finding
can only come from the rule under test.
"""

from __future__ import annotations

from suara.forms import Form, form_from_markdown

# A throw-away RSA public key made for these tests (its private half was never kept).
PUBLIC_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsyv8J66QPjmxT9sbQonwxB2BI0rQ12qsRHtvcRWFsGDgl0nlAUvB"
    "iD/zAm5L3RoNZK72PEStN+KFMChi819NSFo+qIQWG9bsyMAFCcTNo3o9xfKvzIT2KyulFy9/JIQxjUEDypTwovJOSEWLS/tF"
    "hACJJ+GekAtlMVkbML9OHjAad9sNx3HkWIKjoMSKO1jIQED6xYjI19hIzmR0qvdM1Bp3Ut1ae6aORRRWgbQPwpZ0PTvWH3Sa"
    "HrRu5PT34u7eFf9l+3Mc5p4A7khue2nPbSzjl8uu9ByY2cx1xT6LP43FXRmLGmE1uuEEt+hVGOc3ZNSE6s+NdWR9xCtQ6oX6"
    "FwIDAQAB"
)

BASE = """\
| survey |
|  | type | name | label::English (en) | label::Indonesian (id) | hint::English (en) | hint::Indonesian (id) | relevant | constraint | calculation | choice_filter | parameters | pii_class | pii_rule |
|  | start | start | | | | | | | | | | M | duration |
|  | username | username | | | | | | | | | | D | |
|  | audit | audit | | | | | | | | | | M | |
|  | text | enum_code | Enumerator code | Kode enumerator | e.g. E07 | mis. E07 | | regex(., '^E[0-9]{2}$') | | | | D | pseudonym |
|  | select_one prov | province | Province | Provinsi | | | | | | | | Q | |
|  | select_one dist | district | District | Kabupaten | | | | | | prov=${province} | | Q | |
|  | begin_group | grp_work | Work | Pekerjaan | | | | | | | | - | |
|  | integer | age | Age | Umur | In years | Dalam tahun | | . >= 18 | | | | Q | |
|  | select_one yn | member | Union member? | Anggota serikat? | | | ${age} >= 18 | | | | | S | |
|  | calculate | adult | | | | | | | if(${age} >= 18, 1, 0) | | | - | |
|  | end_group | | | | | | | | | | | | |
| choices |
|  | list_name | name | label::English (en) | label::Indonesian (id) | prov |
|  | yn | yes | Yes | Ya | |
|  | yn | no | No | Tidak | |
|  | prov | jb | West Java | Jawa Barat | |
|  | prov | bt | Banten | Banten | |
|  | dist | bdg | Bandung | Bandung | jb |
|  | dist | tng | Tangerang | Tangerang | bt |
| settings |
|  | form_title | form_id | version | default_language | public_key | submission_url | auto_send | auto_delete |
|  | Test form | test_form | 2026112801 | Indonesian (id) | @KEY@ | https://kc.kobotoolbox.org/submission | true | true |
| suara_policy |
|  | key | value |
|  | microdata | restricted |
""".replace("@KEY@", PUBLIC_KEY)

# Line numbers of BASE rows, so tests can assert the place a finding names.
LINE = {
    line.split("|")[3].strip(): n
    for n, line in enumerate(BASE.splitlines(), start=1)
    if line.count("|") > 4 and line.split("|")[3].strip()
}


def variant(*replacements: tuple[str, str], base: str = BASE) -> str:
    """BASE with exact substrings replaced; fails loudly if a replacement does not apply."""
    text = base
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the base form"
        text = text.replace(old, new)
    return text


def form(*replacements: tuple[str, str], source: str = "test_form.md") -> Form:
    return form_from_markdown(variant(*replacements), source=source)
