"""Benchmark: streaming a ~100 MB ItemQueryRs (100k items) vs a bare lxml iterparse of the same file.

Targets (issue #4): our throughput >= half of bare lxml's; our peak memory < 150 MB.
Each measurement runs in a fresh subprocess so its peak RSS (ru_maxrss) is its own.

    PYTHONPATH=. python bench/bench_qbxml_parse.py [--items 100000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

MB = 1024 * 1024

CHILD = r"""
import json, resource, sys, time
from lxml import etree
mode, path = sys.argv[1], sys.argv[2]
started = time.perf_counter()
count = 0
with open(path, "rb") as stream:
    if mode == "bare":
        for _event, element in etree.iterparse(stream, events=("end",), resolve_entities=False, no_network=True):
            if element.tag.endswith("Ret") and element.getparent().tag.endswith("Rs"):
                count += 1
            element.clear()
    else:
        from qbwc_bridge.backends.desktop.qbxml import iter_response_records
        for _response, record in iter_response_records(stream):
            count += record is not None
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "records": count, "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _item(n: int) -> str:
    description = f"Hand-finished item number {n} &amp; friends, " * 3
    common = (
        f"<ListID>{n:08X}-1415713663</ListID><TimeCreated>2014-11-11T10:47:43-03:00</TimeCreated>"
        f"<TimeModified>2024-03-01T08:30:00-05:00</TimeModified><EditSequence>{1415713663 + n}</EditSequence>"
        f"<Name>ITEM-{n}</Name><FullName>Catalogue:ITEM-{n}</FullName><BarCodeValue>{4006381333931 + n}</BarCodeValue>"
        "<IsActive>true</IsActive><ParentRef><ListID>80000001-1415713663</ListID><FullName>Catalogue</FullName>"
        "</ParentRef><Sublevel>1</Sublevel>"
    )
    if n % 3 == 0:
        return (
            f"<ItemServiceRet>{common}<SalesOrPurchase><Desc>{description}</Desc><Price>{n % 997}.95</Price>"
            "<AccountRef><ListID>8000001A-1415022649</ListID><FullName>Sales:Services</FullName></AccountRef>"
            "</SalesOrPurchase><DataExtRet><OwnerID>0</OwnerID><DataExtName>Colour</DataExtName>"
            "<DataExtType>STR255TYPE</DataExtType><DataExtValue>Blue</DataExtValue></DataExtRet></ItemServiceRet>"
        )
    return (
        f"<ItemInventoryRet>{common}<ManufacturerPartNumber>MPN-{n}</ManufacturerPartNumber>"
        f"<SalesDesc>{description}</SalesDesc><SalesPrice>{n % 997}.95</SalesPrice>"
        "<IncomeAccountRef><ListID>8000001A-1415022649</ListID><FullName>Sales:Goods</FullName></IncomeAccountRef>"
        f"<PurchaseDesc>Bought in</PurchaseDesc><PurchaseCost>{n % 501}.10</PurchaseCost>"
        "<COGSAccountRef><ListID>8000001B-1415022649</ListID><FullName>Cost of Goods Sold</FullName></COGSAccountRef>"
        "<AssetAccountRef><ListID>8000001C-1415022649</ListID><FullName>Inventory Asset</FullName></AssetAccountRef>"
        f"<QuantityOnHand>{n % 300}</QuantityOnHand><AverageCost>4.00</AverageCost><QuantityOnOrder>0</QuantityOnOrder>"
        "<QuantityOnSalesOrder>0</QuantityOnSalesOrder></ItemInventoryRet>"
    )


def write_item_query_response(path: Path, items: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<ItemQueryRs requestID="bench" statusCode="0" '
                  'statusSeverity="Info" statusMessage="Status OK" iteratorRemainingCount="0" iteratorID="{bench}">\n')  # fmt: skip
        for n in range(items):
            out.write(_item(n))
            out.write("\n")
        out.write("</ItemQueryRs>\n</QBXMLMsgsRs>\n</QBXML>\n")


def measure(mode: str, path: Path, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", CHILD, mode, str(path)], capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout))
    best = min(runs, key=lambda run: run["seconds"])
    best["max_rss_mb"] = max(run["max_rss_kb"] for run in runs) / 1024
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ItemQueryRs.xml"
        write_item_query_response(path, args.items)
        size_mb = path.stat().st_size / MB
        bare = measure("bare", path, args.repeat)
        ours = measure("ours", path, args.repeat)
    assert bare["records"] == ours["records"] == args.items, (bare, ours)
    bare_speed, our_speed = size_mb / bare["seconds"], size_mb / ours["seconds"]
    print(f"document: {args.items} items, {size_mb:.1f} MB (best of {args.repeat} runs, each in a fresh process)")
    print(f"bare lxml iterparse : {bare['seconds']:6.2f} s  {bare_speed:6.1f} MB/s  peak RSS {bare['max_rss_mb']:6.1f} MB")
    print(f"iter_response_records: {ours['seconds']:6.2f} s  {our_speed:6.1f} MB/s  peak RSS {ours['max_rss_mb']:6.1f} MB")
    ratio = our_speed / bare_speed
    print(f"throughput ratio    : {ratio:.2f} of bare lxml (target >= 0.50)")
    print(f"peak memory         : {ours['max_rss_mb']:.1f} MB (target < 150 MB)")
    return 0 if ratio >= 0.5 and ours["max_rss_mb"] < 150 else 1


if __name__ == "__main__":
    sys.exit(main())
