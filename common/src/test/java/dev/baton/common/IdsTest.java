package dev.baton.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class IdsTest {

    @Test
    void shouldRejectABlankNodeId() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new NodeId("  "));
        assertEquals("node id must not be blank (got \"  \")", e.getMessage());
        assertThrows(NullPointerException.class, () -> new NodeId(null));
    }

    @Test
    void shouldCompareIdsByValue() {
        assertEquals(new RequestId(7), new RequestId(7));
        assertEquals(new TransferId(-1), new TransferId(-1));
        assertEquals(new NodeId("decode-1"), new NodeId("decode-1"));
        assertEquals("xfer-ffffffffffffffff", new TransferId(-1).toString());
    }
}
