package io.obplay.inventory;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostNameTest {

    static String canonical(String raw) {
        HostName.Parsed p = HostName.parse(raw);
        assertTrue(p.ok(), raw + ": " + p.error());
        return p.host();
    }

    static String refused(String raw) {
        HostName.Parsed p = HostName.parse(raw);
        assertFalse(p.ok(), raw + " was accepted as " + p.host());
        assertNull(p.host());
        return p.error();
    }

    @Test
    void ipv4IsFourPlainDecimalNumbers() {
        assertEquals("10.0.1.1", canonical("10.0.1.1"));
        assertEquals("0.0.0.0", canonical("0.0.0.0"));
        assertEquals("255.255.255.255", canonical("255.255.255.255"));
        assertTrue(refused("010.0.1.1").startsWith("'010' has a leading zero"), refused("010.0.1.1"));
        assertTrue(refused("10.0.1.01").startsWith("'01' has a leading zero"));
        assertTrue(refused("10.1").startsWith("it is a shorthand IPv4 address (2 numbers)"), refused("10.1"));
        assertTrue(refused("10.0.1").startsWith("it is a shorthand IPv4 address (3 numbers)"));
        assertTrue(refused("167772417").startsWith("it is a shorthand IPv4 address (1 number)"), refused("167772417"));
        assertTrue(refused("10.0.1.256").startsWith("'256' is over 255"));
        assertTrue(refused("0x0a.0.1.1").startsWith("'0x0a' is hexadecimal"), refused("0x0a.0.1.1"));
        assertTrue(refused("1.2.3.4.5").startsWith("it is not an IPv4 address (5 numbers)"), refused("1.2.3.4.5"));
        assertTrue(refused("db.10").startsWith("it ends in the number '10'"), refused("db.10"));
        assertTrue(refused("10.0.1.1.").startsWith("it is not an IPv4 address"), refused("10.0.1.1."));
    }

    @Test
    void ipv6IsRfc5952AndMappedIpv4IsItsIpv4Host() {
        assertEquals("2001:db8::1", canonical("2001:DB8:0:0:0:0:0:1"));
        assertEquals("2001:db8::1", canonical("2001:0db8::0001"));
        assertEquals("2001:db8::1", canonical("[2001:db8::1]"));
        assertEquals("::1", canonical("0:0:0:0:0:0:0:1"));
        assertEquals("::", canonical("::"));
        assertEquals("2001:db8:0:1:1:1:1:1", canonical("2001:db8:0:1:1:1:1:1"));  // one zero group stays
        assertEquals("2001:0:0:1::1", canonical("2001:0:0:1:0:0:0:1"));  // the longest run is compressed
        assertEquals("2001:db8::1:0:0:1", canonical("2001:db8:0:0:1:0:0:1"));  // the first of two equal runs
        assertEquals("10.0.1.1", canonical("::ffff:10.0.1.1"));
        assertEquals("10.0.1.1", canonical("::FFFF:0a00:0101"));
        assertEquals("192.168.0.1", canonical("[::ffff:192.168.0.1]"));
        assertEquals("::a00:101", canonical("::10.0.1.1"));  // IPv4-compatible (deprecated) is not mapped
        assertTrue(refused("2001:db8::1::2").startsWith("it has '::' twice"));
        assertTrue(refused("2001:db8:1:2:3:4:5:6:7").startsWith("it has 9 groups"), refused("2001:db8:1:2:3:4:5:6:7"));
        assertTrue(refused("2001:db8::12345").startsWith("'12345' is not a group"));
        assertTrue(refused("fe80::1%eth0").startsWith("it holds an IPv6 zone id"));
        assertTrue(refused("[2001:db8::1]:2886").startsWith("it holds a port"), refused("[2001:db8::1]:2886"));
        assertTrue(refused("::ffff:010.0.1.1").contains("leading zero"), refused("::ffff:010.0.1.1"));
    }

    @Test
    void namesAreLowerCaseAndWithinDnsLimits() {
        assertEquals("db1.example.com", canonical("DB1.Example.COM"));
        assertEquals("db1.example.com", canonical("db1.example.com."));
        assertEquals("obs-1", canonical("obs-1"));
        String label63 = "a".repeat(63);
        assertEquals(label63 + ".example", canonical(label63 + ".example"));
        assertTrue(refused("a".repeat(64) + ".example").startsWith("the label 'aaaaaaaaaaaa...' is 64 characters long; expected at most 63"));
        String name253 = String.join(".", java.util.Collections.nCopies(4, "b".repeat(62))) + "." + "c".repeat(1);
        assertEquals(62 * 4 + 3 + 2, name253.length());
        assertEquals(name253, canonical(name253));
        String name254 = "d".repeat(61) + "." + name253.substring(62 + 1);
        assertTrue(canonical(name254).length() <= 253);
        String tooLong = "e.".repeat(127) + "ex";
        assertEquals(256, tooLong.length());
        assertTrue(refused(tooLong).startsWith("the name is 256 characters long; expected at most 253"), refused(tooLong));
        assertTrue(refused("a..b").startsWith("it has an empty label"));
        assertTrue(refused(".a").startsWith("it has an empty label"));
        assertTrue(refused("-a.example").startsWith("the label '-a' starts or ends with '-'"));
        assertTrue(refused("db1/x").startsWith("it holds '/'"));
        assertTrue(refused("db1;reboot").startsWith("it holds ';'"));
        assertTrue(refused("$(id)").startsWith("it holds '$'"));
    }

    @Test
    void portsInvisibleAndControlCharactersAreRefused() {
        assertTrue(refused("10.0.1.1:22").startsWith("it holds a port (host:port)"), refused("10.0.1.1:22"));
        assertTrue(refused("db1:22").startsWith("it holds a port (host:port)"));
        assertEquals("it holds the control character U+000A at character 9; expected an IP address or a host name", refused("10.0.1.1\n"));
        assertTrue(refused("10.0.1.1\0").startsWith("it holds the control character U+0000 at character 9"));
        assertTrue(refused("10.0.1 .1").startsWith("it holds a space at character 7"));
        assertTrue(refused("db1\u200b.example").startsWith("it holds the invisible character U+200B at character 4"), refused("db1\u200b.example"));
        assertTrue(refused("db\u202e1").startsWith("it holds the invisible character U+202E"));
        assertTrue(refused("bücher.example").contains("(an internationalized name is written in its ASCII form: xn--bcher-kva.example)"),
                refused("bücher.example"));
        assertTrue(refused("").startsWith("it is empty"));
    }

    @Test
    void hostsWithPorts() {
        assertEquals(new HostName.HostPort("10.0.1.1", 2886, null), HostName.parseWithPort("10.0.1.1:2886"));
        assertEquals(new HostName.HostPort("2001:db8::1", 2886, null), HostName.parseWithPort("[2001:DB8::1]:2886"));
        assertEquals(new HostName.HostPort("2001:db8::1", 0, null), HostName.parseWithPort("2001:db8::1"));
        assertEquals(new HostName.HostPort("10.0.1.1", 2886, null), HostName.parseWithPort("[::ffff:10.0.1.1]:2886"));
        assertEquals(new HostName.HostPort("db1", 0, null), HostName.parseWithPort("DB1"));
        assertEquals("the port '65536' is not a port number from 1 to 65535", HostName.parseWithPort("10.0.1.1:65536").error());
        assertEquals("the port '0' is not a port number from 1 to 65535", HostName.parseWithPort("10.0.1.1:0").error());
        assertEquals("the port '022' is not a port number from 1 to 65535", HostName.parseWithPort("10.0.1.1:022").error());
        assertFalse(HostName.parseWithPort("010.0.1.1:2886").ok());
        assertEquals("[2001:db8::1]:2886", HostName.withPort("2001:db8::1", 2886));
        assertEquals("10.0.1.1:2886", HostName.withPort("10.0.1.1", 2886));
    }
}
