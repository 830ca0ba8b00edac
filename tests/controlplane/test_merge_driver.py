"""MergeManager and FrameRing against a real pybm-switch: entries on the device, the
buffer ring posting and reposting work items, adoption by a second driver."""

from __future__ import annotations

import pytest
from p4nic.driver import NicDriver
from p4nic.hostmem import BufferRing, HostMemory
from p4nic.merge import FrameRing, MergeGroup, MergeManager, MergeStream
from p4nic.model import NicConfigError


def test_frame_ring_posts_and_reposts(driver: NicDriver) -> None:
    mm = driver.merge
    g = mm.create_group(MergeGroup(group=3, slice_size=100, slices_per_frame=10, window=32))
    mm.add_stream(MergeStream(group=3, stream=0, dst="10.0.0.1", dport=5004, in_port=0))
    with HostMemory() as mem:
        region = mem.register("ring-test", g.frame_bytes * 3)
        ring = FrameRing(mm, 3, region.mkey, BufferRing(region, g.frame_bytes, 3),
                         last_frame=4)
        assert ring.fill() == 3
        assert [(f.frame, f.buf_base) for f in mm.posted(3)] == [
            (0, region.iova), (1, region.iova + 1000), (2, region.iova + 2000)]
        ring.recycle(1)                       # frame 3 takes frame 1's buffer
        assert [(f.frame, f.buf_base) for f in mm.posted(3)] == [
            (0, region.iova), (2, region.iova + 2000), (3, region.iova + 1000)]
        ring.recycle(0)
        ring.recycle(2)                       # frame 4 is the last: one buffer stays free
        assert [f.frame for f in mm.posted(3)] == [3, 4]
        assert ring.buffers.free == 1
        with pytest.raises(KeyError):
            ring.recycle(2)
        # the device holds exactly the posted work items: a manager that knows nothing
        # (a one-shot CLI) adopts them from the device's tables
        other = MergeManager(driver)
        driver._clear_hooks.remove(other.clear)      # the fixture's manager cleans up
        assert other.adopt() == 1
        got = other.group_info(3)
        assert [p["frame"] for p in got["posted"]] == [3, 4]
        assert got["slices_per_frame"] == 10 and got["streams"][0]["in_port"] == 0
        assert got["generation"] == g.generation and got["window"] == 32
        with pytest.raises(NicConfigError, match="already posted"):
            mm.post_frame(3, 4, region.mkey, region.iova)
        mm.delete_group(3)
        assert mm.groups() == []
