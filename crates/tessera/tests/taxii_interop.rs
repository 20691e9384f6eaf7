//! Interop with the real TAXII 2.1 client: the Python `taxii2-client` (from the venv) drives a
//! real `tessera serve` through discovery, API root, collections, add_objects of the ICS
//! ATT&CK bundle with status polling, paging with `as_pages`, every filter, versions,
//! manifest, delete, a forbidden collection and a wrong token.

mod taxii_support;

use taxii_support::*;

const SCRIPT: &str = r#"
import json, sys, time
import requests
from taxii2client.v21 import Server, ApiRoot, Collection, as_pages
from taxii2client.common import TokenAuth
from taxii2client.exceptions import AccessError

base, analyst, partner, bundle_path = sys.argv[1:5]
bundle = json.load(open(bundle_path))
objects = bundle["objects"]
by_id = {o["id"]: o for o in objects}

def check(condition, message):
    if not condition:
        print("FAILED:", message)
        sys.exit(1)

# Discovery and API root.
server = Server(base + "/taxii2/", auth=TokenAuth(analyst))
check(server.title.startswith("Tessera node"), server.title)
check(len(server.api_roots) == 1, server.api_roots)
root = server.default
check(root.url == server.api_roots[0].url, "default is the only API root")
check("application/taxii+json;version=2.1" in root.versions, root.versions)
check(root.max_content_length >= len(open(bundle_path, "rb").read()), root.max_content_length)

# Collections: analysts see three, partners two (internal is hidden from them).
collections = {c.alias: c for c in root.collections}
check(sorted(collections) == ["inbox", "internal", "shared"], sorted(collections))
shared = collections["shared"]
check(shared.can_read and shared.can_write, "analysts read and write shared")
partner_root = ApiRoot(root.url, auth=TokenAuth(partner))
partner_collections = {c.alias: c for c in partner_root.collections}
check(sorted(partner_collections) == ["inbox", "shared"], sorted(partner_collections))
check(partner_collections["shared"].can_read and not partner_collections["shared"].can_write, "partners only read shared")
check(partner_collections["inbox"].can_write and not partner_collections["inbox"].can_read, "partners only write the inbox")

# What the node held before (a new node holds its own identity and the objects every node
# ships).
baseline = set()
for envelope in as_pages(shared.get_manifest, per_request=1000):
    baseline.update(m["id"] for m in envelope.get("objects", []))
check(not baseline & set(by_id), "the ICS objects are new to the node")
total = len(baseline) + len(objects)

# Add the ICS bundle and poll its status to completion.
status = shared.add_objects({"objects": objects}, wait_for_completion=True, poll_interval=0.5, timeout=120)
check(status.status == "complete", status.status)
status.refresh()
check(status.status == "complete" and status.total_count == len(objects), (status.status, status.total_count))
check(status.success_count == len(objects) and status.failure_count == 0, (status.success_count, status.failures[:3]))
check(len(status.successes) == len(objects), len(status.successes))

# Page through every object with as_pages.
seen = []
pages = 0
for envelope in as_pages(shared.get_objects, per_request=100):
    seen.extend(envelope.get("objects", []))
    pages += 1
check(len(seen) == total, (len(seen), total))
check({o["id"] for o in seen} == baseline | set(by_id), "every object once")
check(pages == (total + 99) // 100, pages)
check(all(o == by_id[o["id"]] for o in seen if o["id"] in by_id), "objects come back as they went in")

# Filters: type, id, version, added_after.
def all_objects(**filters):
    out = []
    for envelope in as_pages(shared.get_objects, per_request=250, **filters):
        out.extend(envelope.get("objects", []))
    return out
techniques = [o for o in objects if o["type"] == "attack-pattern"]
got = all_objects(type="attack-pattern")
check(len(got) == len(techniques) and all(o["type"] == "attack-pattern" for o in got), (len(got), len(techniques)))
two_types = all_objects(type=["malware", "tool"])
check(len(two_types) == sum(o["type"] in ("malware", "tool") for o in objects), len(two_types))
some = techniques[7]
got = shared.get_objects(id=some["id"])["objects"]
check(got == [some], got)
got = shared.get_objects(id=[some["id"], techniques[8]["id"]])["objects"]
check(len(got) == 2, len(got))
got = shared.get_objects(id=some["id"], version=some["modified"]).get("objects", [])
check(got == [some], "match[version] = its modified")
got = shared.get_objects(id=some["id"], version="2001-01-01T00:00:00.000Z").get("objects", [])
check(got == [], "match[version] = another instant")
for selector in ("first", "last", "all"):
    got = shared.get_objects(id=some["id"], version=selector)["objects"]
    check(got == [some], selector)
check(shared.get_objects(spec_version="2.1", limit=5)["objects"][0]["spec_version"] == "2.1", "spec_version 2.1")
check(shared.get_objects(spec_version="2.0").get("objects", []) == [], "nothing is 2.0")

manifest = []
for envelope in as_pages(shared.get_manifest, per_request=500):
    manifest.extend(envelope.get("objects", []))
check(len(manifest) == total, len(manifest))
check(all(m["media_type"] == "application/stix+json;version=2.1" for m in manifest), "media types")
check(all(m["version"] == by_id[m["id"]].get("modified", by_id[m["id"]].get("created")) for m in manifest if m["id"] in by_id), "manifest versions")
dates = [m["date_added"] for m in manifest]
check(dates == sorted(dates) and len(set(dates)) == len(dates), "date_added strictly grows")
cut = 1000
after = all_objects(added_after=dates[cut - 1])
check(len(after) == total - cut, (len(after), total - cut))
check({o["id"] for o in after} == {m["id"] for m in manifest[cut:]}, "added_after keeps exactly the later ones")
response = requests.get(shared.url + "objects/", params={"limit": 10}, headers={"Accept": "application/taxii+json;version=2.1", "Authorization": "Bearer " + analyst})
check(response.headers["X-TAXII-Date-Added-First"] == dates[0] and response.headers["X-TAXII-Date-Added-Last"] == dates[9], dict(response.headers))

# One object, its versions, and a second version of it.
check(shared.get_object(some["id"])["objects"] == [some], "get_object")
versions = shared.object_versions(some["id"])
check(versions["versions"] == [some["modified"]] and versions["more"] is False, versions)
newer = dict(some, modified="2099-01-01T00:00:00.000Z", name=some["name"] + " (revised)")
status = shared.add_objects({"objects": [newer]}, wait_for_completion=True, poll_interval=0.2)
check(status.success_count == 1, status.failures)
versions = shared.object_versions(some["id"])["versions"]
check(versions == [some["modified"], newer["modified"]], versions)
check(shared.get_object(some["id"])["objects"] == [newer], "the latest by default")
check(shared.get_object(some["id"], version="first")["objects"] == [some], "first")
check(len(shared.get_object(some["id"], version="all")["objects"]) == 2, "all")

# Delete: the object is gone from every view.
shared.delete_object(some["id"])
try:
    shared.get_object(some["id"])
    check(False, "a deleted object is still served")
except requests.exceptions.HTTPError as e:
    check(e.response.status_code == 404, e.response.status_code)
check(shared.get_objects(id=some["id"]).get("objects", []) == [], "deleted from the list")
remaining = sum(len(e.get("objects", [])) for e in as_pages(shared.get_manifest, per_request=1000))
check(remaining == total - 1, remaining)
try:
    shared.delete_object(some["id"])
    check(False, "deleting twice")
except requests.exceptions.HTTPError as e:
    check(e.response.status_code == 404, e.response.status_code)

# A partner: the internal collection does not exist for it, the inbox cannot be read, shared
# cannot be written (the server says so, whatever the client believes).
partner_headers = {"Accept": "application/taxii+json;version=2.1", "Authorization": "Bearer " + partner}
internal = collections["internal"]
for url in (internal.url, internal.url + "objects/", root.url + "collections/no-such/"):
    response = requests.get(url, headers=partner_headers)
    check(response.status_code == 404 and response.json()["http_status"] == "404", (url, response.status_code))
response = requests.get(collections["inbox"].url + "objects/", headers=partner_headers)
check(response.status_code == 403, response.status_code)
response = requests.post(shared.url + "objects/", data=json.dumps({"objects": [newer]}),
                         headers=dict(partner_headers, **{"Content-Type": "application/taxii+json;version=2.1"}))
check(response.status_code == 403, response.status_code)
response = requests.delete(shared.url + "objects/" + techniques[9]["id"] + "/", headers=partner_headers)
check(response.status_code == 403, response.status_code)
try:
    partner_collections["inbox"].get_objects()
    check(False, "the client should refuse to read a collection it cannot read")
except AccessError:
    pass
# What the ICS bundle carries (the MITRE copyright marking, no TLP) is released to no partner.
released = partner_collections["shared"].get_objects().get("objects", [])
check(not [o for o in released if o["id"] in by_id], "default deny")

# A wrong token, and no token.
try:
    Server(base + "/taxii2/", auth=TokenAuth("tsr_" + "0" * 64)).title
    check(False, "a wrong token was accepted")
except requests.exceptions.HTTPError as e:
    check(e.response.status_code == 401, e.response.status_code)
    check(e.response.json()["http_status"] == "401", e.response.text)
response = requests.get(base + "/taxii2/", headers={"Accept": "application/taxii+json;version=2.1"})
check(response.status_code == 401, response.status_code)
print("ok", len(objects))
"#;

#[test]
fn taxii2_client_drives_the_server_end_to_end() {
    let node = fresh_node();
    let analyst = add_partner(node.path(), "analysts", "analyst");
    let partner = add_partner(node.path(), "bfv", "partner");
    let server = Server::start(node.path(), &[]);
    let bundle = shared_data("stix/ics-attack-18.1.json");
    let out = run_python(
        SCRIPT,
        &[
            &server.url(""),
            &analyst,
            &partner,
            bundle.to_str().expect("a UTF-8 path"),
        ],
    );
    assert!(
        out.trim_end().ends_with("ok 1826"),
        "{out}\n--- server log\n{}",
        server.log()
    );
}
