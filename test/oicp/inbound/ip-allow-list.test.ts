import { describe, expect, it } from "vitest";
import { createIpAllowList, displayAddress, parseAddress } from "../../../src/oicp/inbound/ip-allow-list.js";

describe("IP allow-list", () => {
  it("an empty list allows every source", () => {
    const list = createIpAllowList([]);
    expect(list.allowsAny).toBe(true);
    expect(list.allows("203.0.113.9")).toBe(true);
    expect(list.allows(undefined)).toBe(true);
  });

  it("IPv4 addresses and ranges, also as the IPv4-mapped IPv6 forms a dual-stack socket reports", () => {
    const list = createIpAllowList(["127.0.0.1", "10.1.0.0/16"]);
    for (const ok of ["127.0.0.1", "::ffff:127.0.0.1", "::FFFF:7f00:1", "10.1.200.3", "::ffff:10.1.0.0"])
      expect(list.allows(ok), ok).toBe(true);
    for (const no of ["127.0.0.2", "10.2.0.1", "::1", "::127.0.0.1", "::ffff:10.2.0.1", "", "not-an-ip", undefined])
      expect(list.allows(no), String(no)).toBe(false);
  });

  it("IPv6 addresses and ranges, zone ids ignored", () => {
    const list = createIpAllowList(["2001:db8::/32", "::1", "fe80::1"]);
    for (const ok of ["2001:db8::1", "2001:DB8:ffff::", "::1", "0:0:0:0:0:0:0:1", "fe80::1%eth0", "[::1]"])
      expect(list.allows(ok), ok).toBe(true);
    for (const no of ["2001:db9::1", "::2", "127.0.0.1"]) expect(list.allows(no), no).toBe(false);
  });

  it("IPv4-mapped entries match IPv4 callers, and /0 matches everything of its family", () => {
    expect(createIpAllowList(["::ffff:192.168.0.0/112"]).allows("192.168.3.4")).toBe(true);
    expect(createIpAllowList(["::ffff:192.168.0.0/112"]).allows("192.169.3.4")).toBe(false);
    expect(createIpAllowList(["0.0.0.0/0"]).allows("198.51.100.1")).toBe(true);
    expect(createIpAllowList(["0.0.0.0/0"]).allows("2001:db8::1")).toBe(false);
    expect(createIpAllowList(["::/0"]).allows("2001:db8::1")).toBe(true);
  });

  it("rejects bad entries, naming OICP_ALLOWED_IPS", () => {
    for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8/8", "example.com", "10.0.0.256", "1.2.3.4/x"]) {
      expect(() => createIpAllowList([bad]), bad).toThrow(/OICP_ALLOWED_IPS/);
    }
  });

  it("parses embedded IPv4 in IPv6 and shows mapped addresses as IPv4 in logs", () => {
    expect(parseAddress("::ffff:1.2.3.4")).toBe(parseAddress("::ffff:102:304"));
    expect(parseAddress("1.2.3.4")).toBe(parseAddress("::ffff:1.2.3.4"));
    expect(displayAddress("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(displayAddress("::1")).toBe("::1");
    expect(displayAddress(undefined)).toBeNull();
  });
});
