// Source-address allow-list for the OICP listener (OICP_ALLOWED_IPS): IPv4/IPv6 addresses and CIDR
// ranges. Every address is compared as a 128-bit IPv6 number, IPv4 as its IPv4-mapped form
// (::ffff:a.b.c.d), so "127.0.0.1", "::ffff:127.0.0.1" and "::ffff:7f00:1" are the same caller.
import { isIP } from "node:net";

export interface IpAllowList {
  /** True when the list is empty: every source address is allowed. */
  readonly allowsAny: boolean;
  /** The entries as configured (for logs). */
  readonly entries: readonly string[];
  allows(address: string | undefined | null): boolean;
}

const ALL_ONES = (1n << 128n) - 1n;
const V4_MAPPED_PREFIX = 0xffffn << 32n;

interface Range {
  base: bigint;
  mask: bigint;
}

/** Parses the entries; throws an Error naming OICP_ALLOWED_IPS and the entry for a bad one. */
export function createIpAllowList(entries: readonly string[]): IpAllowList {
  const ranges: Range[] = entries.map((entry) => {
    const range = parseRange(entry);
    if (!range) throw new Error(`OICP_ALLOWED_IPS: "${entry}" is not an IP address or CIDR range`);
    return range;
  });
  return {
    allowsAny: ranges.length === 0,
    entries: [...entries],
    allows(address) {
      if (ranges.length === 0) return true;
      if (!address) return false;
      const value = parseAddress(address);
      if (value === null) return false;
      return ranges.some((range) => (value & range.mask) === range.base);
    },
  };
}

/** For logs: "::ffff:127.0.0.1" → "127.0.0.1"; anything else unchanged. */
export function displayAddress(address: string | undefined | null): string | null {
  if (!address) return null;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

function parseRange(entry: string): Range | null {
  const [address, prefix, ...rest] = entry.trim().split("/");
  if (rest.length > 0 || !address) return null;
  const value = parseAddress(address);
  if (value === null) return null;
  const v4 = isIP(address) === 4;
  let bits = 128;
  if (prefix !== undefined) {
    if (!/^\d+$/.test(prefix)) return null;
    const n = Number(prefix);
    if (n > (v4 ? 32 : 128)) return null;
    bits = v4 ? 96 + n : n;
  }
  const mask = bits === 0 ? 0n : ALL_ONES ^ ((1n << BigInt(128 - bits)) - 1n);
  return { base: value & mask, mask };
}

/** An IPv4 or IPv6 address as a 128-bit number (IPv4 mapped into ::ffff:0:0/96), or null. */
export function parseAddress(input: string): bigint | null {
  let address = input.trim();
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  const zone = address.indexOf("%");
  if (zone >= 0) address = address.slice(0, zone);
  const version = isIP(address);
  if (version === 4) return V4_MAPPED_PREFIX | ipv4ToBigInt(address);
  if (version === 6) return ipv6ToBigInt(address);
  return null;
}

function ipv4ToBigInt(address: string): bigint {
  return address.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6ToBigInt(address: string): bigint {
  const groups = (part: string): number[] => {
    if (part === "") return [];
    const out: number[] = [];
    for (const piece of part.split(":")) {
      if (piece.includes(".")) {
        const v4 = Number(ipv4ToBigInt(piece));
        out.push(Math.floor(v4 / 0x10000), v4 % 0x10000);
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const [head = "", tail] = address.split("::");
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right].reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
}
