package dev.baton.router.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class TokenBucketTest {

    private static final long SECOND = 1_000_000_000L;

    @Test
    void shouldStartFullAndLetABurstOfItsCapacityThrough() {
        TokenBucket b = new TokenBucket(3, 1, 0);
        for (int i = 0; i < 3; i++) {
            assertEquals(0, b.waitNanos(1, 0));
            b.take(1, 0);
        }
        assertEquals(SECOND, b.waitNanos(1, 0));
    }

    @Test
    void shouldRefillAtItsRateUpToItsCapacity() {
        TokenBucket b = new TokenBucket(10, 2, 0);
        b.take(10, 0);
        assertEquals(3.0, b.available(SECOND + SECOND / 2), 1e-9);
        assertEquals(10.0, b.available(100 * SECOND), 1e-9);
    }

    @Test
    void shouldSayHowLongUntilEnoughTokensAreThere() {
        TokenBucket b = new TokenBucket(600, 10, 0); // 600 tokens per minute
        b.take(600, 0);
        assertEquals(5 * SECOND, b.waitNanos(50, 0));
        assertEquals(0, b.waitNanos(50, 5 * SECOND));
    }

    @Test
    void shouldNeverHoldMoreThanItsCapacity() {
        TokenBucket b = new TokenBucket(100, 1, 0);
        assertEquals(Long.MAX_VALUE, b.waitNanos(101, 0));
        b.giveBack(50, 0);
        assertEquals(100.0, b.available(0), 1e-9);
    }

    @Test
    void shouldGiveBackWhatARequestDidNotUse() {
        TokenBucket b = new TokenBucket(100, 1, 0);
        b.take(80, 0);
        b.giveBack(30, 0);
        assertEquals(50.0, b.available(0), 1e-9);
    }

    @Test
    void shouldRefuseAnEmptyOrRatelessBucket() {
        assertThrows(IllegalArgumentException.class, () -> new TokenBucket(0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new TokenBucket(1, 0, 0));
    }
}
