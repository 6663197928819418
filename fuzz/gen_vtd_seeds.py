#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the hand-made seeds of the VT-d fuzz targets (fuzz/corpus/vtd_*/seed-*).

Each seed is a small program in the input format of fuzz/fuzz_vtd.h: a unit, translation
structures for one way through the tables (scalable first-stage, second-stage,
pass-through, legacy, ATS, large pages, faults, the invalidation queue), and requests.
They start the fuzzer deep in the walks; it finds the rest. The encoders below mirror
the decoders of fuzz_vtd.h: change both together.

    fuzz/gen_vtd_seeds.py            (re)write the seeds
"""
import os
import struct

OPS = ["translate", "root", "ctx", "pasid_dir", "pasid_entry", "pte", "mem64", "faults",
       "enable", "mmio_write", "mmio_read", "qi_setup", "qi_desc", "qi_tail", "ats_port",
       "reset", "flush", "qi_sync"]
OP = {name: i for i, name in enumerate(OPS)}

u8 = lambda v: struct.pack("<B", v & 0xff)
u16 = lambda v: struct.pack("<H", v & 0xffff)
u32 = lambda v: struct.pack("<I", v & 0xffffffff)
u64 = lambda v: struct.pack("<Q", v & 0xffffffffffffffff)


def header(legacy=False, no_dev_tlb=False, opt=0, feature_bits=0, caches=0, knobs=0):
    """Feature bits as fz_vtd_config() reads them: 0 keeps vtd_config_default().
    `caches` is the geometry byte of all four caches (0: none), `knobs` the harness's
    (1 check mode, 2 a queue at the start, 4 with 256-bit descriptors)."""
    b = feature_bits | (1 if legacy else 0) | ((1 << 9) if no_dev_tlb else 0)
    return u64(b) + bytes(3) + bytes([caches] * 4) + u8(knobs) + u8(opt)


def rid(bus=0, dev=0, fn=0, hi=0):
    """fz_rid()'s small form: bus 0-3, dev 0-7, devfn bit 7, function 0-3."""
    return u8((bus & 3) << 3 | (dev & 7) | (hi & 1) << 5 | (fn & 3) << 6)


def bits(lo, stray=0):
    return u16(lo) + u8(stray)


def ptr(page):
    return u8(page)


def addr(frame, k=0):
    return u32(frame) + u8(k)


def translate(r, flags, pasid=0, frame=0x1234, at=0):
    return u8(OP["translate"]) + u8(at) + r + u8(flags) + u8(pasid) + addr(frame)


READ, WRITE, PASID, PRIV, EXEC = 2, 4, 1, 8, 16


def sm_ctx(r, dir_page, lo=0x1 | 0x4 | 0x8 | 7 << 9, q1=0):
    return u8(OP["ctx"]) + r + bits(lo) + ptr(dir_page) + u32(q1)


def legacy_ctx(r, slpt_page, tt=0, aw=2, did=1):
    return u8(OP["ctx"]) + r + bits(1 | tt << 2) + ptr(slpt_page) + u32(aw | did << 8)


def pasid_entry(r, pasid, pgtt, aw=2, slpt=0, flpt=0, did=1, q2lo=0, extra_lo=0):
    kind = (pgtt - 1) & 3
    return (u8(OP["pasid_entry"]) + r + u8(pasid) + u8(kind) + bits(1 | aw << 2 | extra_lo) +
            ptr(slpt) + ptr(flpt) + u32(did) + u8(q2lo))


def pte(r, pasid, stage, level, frame, lo, page, xd=False):
    sel = stage | (level - 1) << 1 | (0x80 if xd else 0)
    return u8(OP["pte"]) + r + u8(pasid) + u8(sel) + addr(frame) + bits(lo) + ptr(page)


def faults(how=0):
    return u8(OP["faults"]) + u8(how)


def mmio_write(reg_index, value, size8=True):
    return u8(OP["mmio_write"]) + u8(1 if size8 else 0) + u8(reg_index) + u64(value)


def mmio_read(reg_index, size8=True):
    return u8(OP["mmio_read"]) + u8(1 if size8 else 0) + u8(reg_index)


def qi_setup(flags, page):
    return u8(OP["qi_setup"]) + u8(flags) + ptr(page)


def qi_desc(slot, type_sel, q0=0, q1=0, q2=0, q3=0, wait_page=None, wait_off=0):
    out = u8(OP["qi_desc"]) + u8(slot) + u8(type_sel) + u64(q0) + u64(q1) + u64(q2) + u64(q3)
    if wait_page is not None:
        out += ptr(wait_page) + u16(wait_off)
    return out


def qi_tail(slots):
    return u8(OP["qi_tail"]) + u16(slots)


def ats_port(r, hung=False, disconnect=False):
    return u8(OP["ats_port"]) + r + u8((1 if hung else 0) | (2 if disconnect else 0))


FS_P, FS_RW, FS_US, FS_PS = 1, 2, 4, 0x80
SS_R, SS_W, SS_PS = 1, 2, 0x80
R0 = rid()
R1 = rid(bus=1, dev=2, fn=1)


def seeds():
    s = {}
    s["sm_fs4"] = (header() + sm_ctx(R0, 10) +
                   pasid_entry(R0, 0, pgtt=1, flpt=20, q2lo=1) +
                   pte(R0, 0, 0, 1, 0x1234, FS_P | FS_RW | FS_US, 30) +
                   translate(R0, READ) + translate(R0, WRITE | PASID) +
                   translate(R0, READ | PASID | PRIV) + translate(R0, READ, at=1) +
                   translate(R0, READ, at=2))
    s["sm_fs_2m"] = (header() + sm_ctx(R0, 10) + pasid_entry(R0, 3, pgtt=1, flpt=20) +
                     pte(R0, 3, 0, 2, 0x1200, FS_P | FS_RW | FS_US | FS_PS, 0) +
                     translate(R0, READ | WRITE | PASID, pasid=3, frame=0x1234))
    s["sm_ss4"] = (header() + sm_ctx(R1, 11) + pasid_entry(R1, 0, pgtt=2, slpt=21) +
                   pte(R1, 0, 1, 1, 0x42, SS_R | SS_W, 31) +
                   translate(R1, READ, frame=0x42) + translate(R1, WRITE, frame=0x42) +
                   translate(R1, READ, frame=0x43))
    s["sm_ss_1g"] = (header() + sm_ctx(R1, 11) + pasid_entry(R1, 0, pgtt=2, slpt=21) +
                     pte(R1, 0, 1, 3, 0x40000, SS_R | SS_W | SS_PS, 0) +
                     translate(R1, READ, frame=0x40123))
    s["sm_nested"] = (header() + sm_ctx(R0, 10) +
                      pasid_entry(R0, 0, pgtt=3, slpt=21, flpt=20) +
                      pte(R0, 0, 0, 1, 0x10, FS_P | FS_RW | FS_US, 30) +
                      pte(R0, 0, 1, 3, 0, SS_R | SS_W | SS_PS, 0) +
                      translate(R0, READ, frame=0x10))
    s["sm_pt"] = (header() + sm_ctx(R0, 10) + pasid_entry(R0, 0, pgtt=4) +
                  translate(R0, READ | WRITE, frame=0x777) + translate(R0, READ, frame=0xfee00))
    s["sm_faults"] = (header(opt=8) + translate(R0, READ) + translate(R1, WRITE) +
                      sm_ctx(R0, 10, lo=0x1 | 0x2) + translate(R0, READ) + faults(4) +
                      translate(R1, READ | PASID, pasid=5))
    s["legacy_ss"] = (header(legacy=True) + legacy_ctx(R0, 20) +
                      pte(R0, 0, 1, 1, 0x99, SS_R | SS_W, 33) +
                      translate(R0, READ, frame=0x99) + translate(R0, WRITE, frame=0x99) +
                      translate(R0, READ, frame=0x98))
    s["legacy_ats"] = (header(legacy=True, opt=8) + legacy_ctx(R1, 20, tt=1) +
                       pte(R1, 0, 1, 1, 0x5, SS_R, 34) + translate(R1, READ, frame=0x5, at=1) +
                       translate(R1, WRITE, frame=0x5) + faults(1))
    s["legacy_pt_backend"] = (header(legacy=True, opt=1 | 2) + legacy_ctx(R0, 0, tt=2) +
                              translate(R0, READ | WRITE, frame=0x12345))
    return s


def mmio_seeds():
    s = {}
    # Register reads and writes: CAP, ECAP, GCMD, FECTL unmask, fault record servicing.
    s["regs"] = (header(opt=8) + mmio_read(1) + mmio_read(2) + mmio_read(3, False) +
                 mmio_write(9, 0, False) + translate(R0, READ) +
                 u8(OP["mmio_read"]) + u8(1) + u8(0x23) + u8(0) +
                 u8(OP["mmio_write"]) + u8(0) + u8(0x24) + u8(0) + u64(0x80000000) +
                 mmio_read(8, False))
    # The invalidation queue: IQA, a wait descriptor with a status write, IQT.
    s["qi_wait"] = (header() + qi_setup(0, 40) +
                    qi_desc(0, 0x24, q0=(0x1234 << 32) | 0x20, wait_page=41, wait_off=0x10) +
                    qi_tail(1) + mmio_read(0x11) + mmio_read(0x15, False))
    # 256-bit descriptors: context-cache, IOTLB and PASID-cache invalidations, then wait.
    s["qi_256"] = (header() + sm_ctx(R0, 10) + pasid_entry(R0, 0, pgtt=1, flpt=20) +
                   pte(R0, 0, 0, 1, 0x1234, FS_P | FS_RW | FS_US, 30) + translate(R0, READ) +
                   qi_setup(8, 40) + qi_desc(0, 0x10, q0=0x10) + qi_desc(1, 0x11, q0=0x10) +
                   qi_desc(2, 0x15, q0=0x30) + qi_desc(3, 0x14, q0=0x20) + qi_tail(4) +
                   translate(R0, READ))
    # Device-TLB invalidation to a port that answers, and to one that never does.
    s["qi_devtlb"] = (header() + ats_port(R0) + ats_port(R1, hung=True) + qi_setup(0, 40) +
                      qi_desc(0, 0x12, q0=0) + qi_desc(1, 0x12, q0=(0x0a11 << 32)) +
                      qi_tail(2) + mmio_read(8, False) + ats_port(R1, disconnect=True))
    # Legacy mode enable with register-based invalidation.
    s["legacy_reginv"] = (header(legacy=True) + u8(OP["enable"]) + u8(0) +
                          mmio_write(6, 1 << 63 | 1 << 61) + mmio_read(6) +
                          u8(OP["mmio_write"]) + u8(1) + u8(0xf1) + u64(1 << 63 | 1 << 60) +
                          legacy_ctx(R0, 20) + translate(R0, READ) + u8(OP["reset"]))
    return s


def qi_seeds():
    s = {}
    # Caches on, check mode on, a 256-bit queue from the start: translate, flush the
    # caches by reset, translate again, then invalidate through the queue and wait.
    s["qi_cached"] = (header(caches=0x5, knobs=7, opt=1) + sm_ctx(R0, 10) +
                      pasid_entry(R0, 0, pgtt=1, flpt=20) +
                      pte(R0, 0, 0, 1, 0x1234, FS_P | FS_RW | FS_US | 0x20, 30) +
                      translate(R0, READ) + u8(OP["flush"]) + u8(0) + translate(R0, READ) +
                      translate(R0, READ) + qi_desc(0, 0x16, q0=0x30 | 1 << 16) +
                      qi_tail(1) + u8(OP["qi_sync"]) + u8(0) + u8(3) + translate(R0, READ))
    # A 128-bit queue: a device-TLB invalidation to a hung port, then a wait (aborted).
    s["qi_ite"] = (header(caches=0x5, knobs=3, opt=1) + ats_port(R1, hung=True) +
                   qi_desc(0, 0x12, q0=(0x0a11 << 32)) + qi_tail(1) + u8(OP["qi_sync"]) +
                   u8(0) + u8(1) + faults(2) + u8(OP["qi_sync"]) + u8(0) + u8(2))
    return s


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for target, table in (("vtd_tables", seeds()), ("vtd_mmio", {**seeds(), **mmio_seeds()}),
                          ("vtd_qi", {**qi_seeds(), **mmio_seeds()})):
        d = os.path.join(here, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in table.items():
            with open(os.path.join(d, "seed-" + name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
