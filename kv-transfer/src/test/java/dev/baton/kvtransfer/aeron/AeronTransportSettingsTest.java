package dev.baton.kvtransfer.aeron;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.baton.kvtransfer.KvTransferException;
import org.junit.jupiter.api.Test;

class AeronTransportSettingsTest {

    private static AeronTransportSettings parse(String hocon) {
        Config c = ConfigFactory.parseString(hocon).withFallback(ConfigFactory.defaultReference());
        return AeronTransportSettings.from(c);
    }

    private static String failure(String hocon) {
        return assertThrows(KvTransferException.class, () -> parse(hocon)).getMessage();
    }

    @Test
    void shouldReadTheReferenceDefaults() {
        AeronTransportSettings s = AeronTransportSettings.defaults();
        assertEquals("aeron-ipc", s.name());
        assertEquals(65504, s.mtuBytes());
        assertEquals(16 << 20, s.termLengthBytes());
        assertEquals(2 << 20, s.ipcTermLengthBytes());
        assertEquals(AeronTransportSettings.DriverMode.EMBEDDED, s.driver());
    }

    @Test
    void shouldNameTheTransportAfterAUdpChannel() {
        AeronTransportSettings s = parse("baton.kv-transfer.aeron { channel = \"aeron:udp?endpoint=127.0.0.1:40100\" }");
        assertEquals("aeron-udp", s.name());
    }

    @Test
    void shouldRejectAnMtuThatIsNotAMultipleOf32WithKeyAndLimit() {
        String m = failure("baton.kv-transfer.aeron.mtu-bytes = 9000");
        assertTrue(m.contains("baton.kv-transfer.aeron.mtu-bytes = 9000"), m);
        assertTrue(m.contains("a multiple of 32 from 4096 to 65504"), m);
    }

    @Test
    void shouldRejectATermLengthThatIsNotAPowerOfTwo() {
        String m = failure("baton.kv-transfer.aeron.term-length-bytes = 3000000");
        assertTrue(m.contains("term-length-bytes = 3000000") && m.contains("power of two"), m);
    }

    @Test
    void shouldRejectATermTooShortForTheMtu() {
        String m = failure("baton.kv-transfer.aeron { term-length-bytes = 262144, mtu-bytes = 65504 }");
        assertTrue(m.contains("at least 8 * mtu-bytes = 524032"), m);
    }

    @Test
    void shouldRejectAnIpcTermTooShortForTheMtuNamingItsOwnKey() {
        String m = failure("baton.kv-transfer.aeron.ipc-term-length-bytes = 262144");
        assertTrue(m.contains("ipc-term-length-bytes = 262144") && m.contains("at least 8 * mtu-bytes = 524032"), m);
    }

    @Test
    void shouldGiveIpcAndUdpPublicationsTheirOwnTermLength() {
        AeronTransportSettings s = parse("baton.kv-transfer.aeron { term-length-bytes = 8388608, ipc-term-length-bytes = 1048576 }");
        assertEquals("1048576", io.aeron.ChannelUri.parse(s.publicationChannel("aeron:ipc")).get("term-length"));
        assertEquals("8388608", io.aeron.ChannelUri.parse(s.publicationChannel("aeron:udp?endpoint=127.0.0.1:40100"))
                .get("term-length"));
    }

    @Test
    void shouldTellReceiversOnThisHostByTheirChannel() {
        assertTrue(AeronTransportSettings.isSameHost("aeron:ipc"));
        assertTrue(AeronTransportSettings.isSameHost("aeron:udp?endpoint=127.0.0.1:40100"));
        assertTrue(AeronTransportSettings.isSameHost("aeron:udp?endpoint=localhost:40100"));
        assertTrue(AeronTransportSettings.isSameHost("aeron:udp?endpoint=[::1]:40100"));
        assertFalse(AeronTransportSettings.isSameHost("aeron:udp?endpoint=10.0.0.7:40100"));
        assertFalse(AeronTransportSettings.isSameHost("aeron:udp?endpoint=gpu-node-3:40100"));
    }

    @Test
    void shouldListenOnTheBindAddressAndKeepTheAdvertisedOneInTheChannels() {
        AeronTransportSettings s = parse("baton.kv-transfer.aeron { channel = \"aeron:udp?endpoint=203.0.113.5:40100\", "
                + "reply-channel = \"aeron:udp?endpoint=203.0.113.5:40101\", bind-address = \"0.0.0.0\" }");
        assertEquals("0.0.0.0", s.bindAddress());
        assertEquals("aeron:udp?endpoint=203.0.113.5:40100", s.channel(), "what senders are told");
        assertTrue(s.subscriptionChannel(s.channel()).contains("endpoint=0.0.0.0:40100"), s.subscriptionChannel(s.channel()));
        assertTrue(s.subscriptionChannel(s.replyChannel()).contains("endpoint=0.0.0.0:40101"));
        assertTrue(s.publicationChannel(s.channel()).contains("endpoint=203.0.113.5:40100"), "senders send to the channel");
        AeronTransportSettings plain = s.withBindAddress("");
        assertTrue(plain.subscriptionChannel(plain.channel()).contains("endpoint=203.0.113.5:40100"));
        assertEquals("aeron:ipc", AeronTransportSettings.defaults().withBindAddress("0.0.0.0")
                .subscriptionChannel("aeron:ipc"), "IPC has no address");
        String m = failure("baton.kv-transfer.aeron.bind-address = \"10.0.0.1:4000\"");
        assertTrue(m.contains("bind-address") && m.contains("without a port"), m);
    }

    @Test
    void shouldRejectAUdpChannelWithoutEndpoint() {
        String m = failure("baton.kv-transfer.aeron.channel = \"aeron:udp\"");
        assertTrue(m.contains("baton.kv-transfer.aeron.channel") && m.contains("no endpoint"), m);
    }

    @Test
    void shouldRejectAnUnknownDriverMode() {
        String m = failure("baton.kv-transfer.aeron.driver = shared");
        assertTrue(m.contains("driver = \"shared\" is not one of [embedded, external]"), m);
    }

    @Test
    void shouldRejectTheSameStreamForDataAndReplies() {
        String m = failure("baton.kv-transfer.aeron { stream-id = 5, reply-stream-id = 5 }");
        assertTrue(m.contains("reply-stream-id: 5 must differ from stream-id"), m);
    }

    @Test
    void shouldRejectALossRateAboveHalf() {
        String m = failure("baton.kv-transfer.aeron.debug-receive-loss-rate = 0.9");
        assertTrue(m.contains("debug-receive-loss-rate = 0.9") && m.contains("from 0 to 0.5"), m);
    }

    @Test
    void shouldComputeCrc32cLikeTheJdk() {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment s = a.allocate(100_003);
            Fixtures.fill(s, 1, 2, 3);
            RunningCrc32c crc = new RunningCrc32c();
            crc.reset();
            crc.update(s.address(), 40_000);
            crc.update(s.address() + 40_000, 60_003);
            assertEquals(AeronKvTransferTest.crc(s), crc.value());
            assertTrue(RunningCrc32c.isDirect(), "the build's JVM flags open java.util.zip");
        }
    }
}
