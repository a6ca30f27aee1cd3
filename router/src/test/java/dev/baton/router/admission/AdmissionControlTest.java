package dev.baton.router.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.baton.router.admission.AdmissionControl.Admitted;
import dev.baton.router.admission.AdmissionControl.Reason;
import dev.baton.router.admission.AdmissionControl.Refused;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class AdmissionControlTest {

    private static final long MS = 1_000_000L;

    private long now = 1_000 * MS;

    private AdmissionControl control(AdmissionSettings s) {
        return new AdmissionControl(s, 1, () -> now, new SimpleMeterRegistry());
    }

    private static AdmissionSettings open() {
        return AdmissionSettings.defaults().withMaxTtft(Duration.ZERO).withBounds(1_000_000, 1_000_000_000L, 0);
    }

    private static AdmissionControl.Ticket admitted(AdmissionControl.Decision d) {
        return assertInstanceOf(Admitted.class, d, () -> "refused: " + d).ticket();
    }

    private static Refused refused(AdmissionControl.Decision d, Reason reason) {
        Refused r = assertInstanceOf(Refused.class, d);
        assertEquals(reason, r.reason(), r.message());
        assertTrue(r.retryAfterSeconds() >= 1, "Retry-After " + r.retryAfterSeconds());
        return r;
    }

    @Test
    void shouldReadTheDefaultsOfTheReferenceConf() {
        AdmissionSettings s = AdmissionSettings.defaults();
        assertEquals(Duration.ofSeconds(10), s.maxTtft());
        assertEquals(0, s.keyMaxConcurrent());
    }

    @Test
    void shouldNameTheKeyThatIsOutOfRange() {
        ConfigException e = assertThrows(ConfigException.class, () -> AdmissionSettings.from(ConfigFactory
                .parseString("baton.router.admission.max-requests-in-flight = 0").withFallback(ConfigFactory.defaultReference())));
        assertTrue(e.getMessage().contains("baton.router.admission.max-requests-in-flight"), e.getMessage());
    }

    @Test
    void shouldRefuseAKeyOverItsConcurrencyWith429AndAdmitAgainOnceOneEnds() {
        AdmissionControl a = control(open().withKeyLimits(0, 0, 0, 2));
        AdmissionControl.Ticket first = admitted(a.admit("k1", 10, 10, 0));
        admitted(a.admit("k1", 10, 10, 0));
        Refused r = refused(a.admit("k1", 10, 10, 0), Reason.KEY_CONCURRENCY);
        assertEquals(429, r.reason().status);
        admitted(a.admit("k2", 10, 10, 0)); // another key has its own limit
        first.ended(5);
        first.ended(5); // twice: counted once
        admitted(a.admit("k1", 10, 10, 0));
        refused(a.admit("k1", 10, 10, 0), Reason.KEY_CONCURRENCY);
    }

    @Test
    void shouldRateLimitAKeysRequestsWithARetryAfterOfTheRefill() {
        AdmissionControl a = control(open().withKeyLimits(0.5, 2, 0, 0)); // one request per 2 s, bursts of 2
        admitted(a.admit("k", 1, 1, 0)).ended(1);
        admitted(a.admit("k", 1, 1, 0)).ended(1);
        Refused r = refused(a.admit("k", 1, 1, 0), Reason.KEY_REQUESTS);
        assertEquals(2, r.retryAfterSeconds());
        now += 2_000 * MS;
        admitted(a.admit("k", 1, 1, 0));
    }

    @Test
    void shouldLimitAKeysTokensPerMinuteAndGiveBackUnusedMaxTokens() {
        AdmissionControl a = control(open().withKeyLimits(0, 0, 6000, 0)); // 100 tokens per second
        AdmissionControl.Ticket t = admitted(a.admit("k", 1000, 4000, 0)); // 5000 of 6000
        refused(a.admit("k", 1000, 1000, 0), Reason.KEY_TOKENS);
        t.ended(1000); // used 1000 of its 4000 max_tokens: 3000 come back
        admitted(a.admit("k", 1000, 1000, 0));
        Refused never = refused(a.admit("k", 6000, 1, 0), Reason.KEY_TOKENS);
        assertTrue(never.message().contains("more than"), never.message());
    }

    @Test
    void shouldBoundTheRequestsInFlightWith503() {
        AdmissionControl a = control(open().withBounds(2, 1_000_000, 0));
        AdmissionControl.Ticket t = admitted(a.admit("", 1, 1, 0));
        admitted(a.admit("", 1, 1, 0));
        Refused r = refused(a.admit("", 1, 1, 0), Reason.REQUESTS_IN_FLIGHT);
        assertEquals(503, r.reason().status);
        t.ended(1);
        admitted(a.admit("", 1, 1, 0));
    }

    @Test
    void shouldBoundTheQueuedPromptTokensButAlwaysTakeARequestWhenNoneWait() {
        AdmissionControl a = control(open().withBounds(100, 1000, 0));
        AdmissionControl.Ticket big = admitted(a.admit("", 5000, 1, 0)); // alone: taken
        refused(a.admit("", 10, 1, 0), Reason.QUEUED_TOKENS);
        big.prefilled(); // computed: leaves the queue
        admitted(a.admit("", 600, 1, 0));
        refused(a.admit("", 600, 1, 0), Reason.QUEUED_TOKENS);
        assertEquals(600, a.queuedPromptTokens());
    }

    @Test
    void shouldKeepTheClaimedKvPositionsWithinThePool() {
        AdmissionControl a = control(open().withBounds(100, 1_000_000, 1.0));
        AdmissionControl.Ticket t = admitted(a.admit("", 600, 200, 1000));
        refused(a.admit("", 100, 200, 1000), Reason.KV);
        admitted(a.admit("", 100, 100, 1000));
        t.ended(200);
        admitted(a.admit("", 600, 200, 1000));
    }

    @Test
    void shouldRefuseWhenThePredictedTtftIsOverTheLimitWithARetryAfterOfTheExcess() {
        AdmissionControl a = control(open().withMaxTtft(Duration.ofSeconds(2)));
        // measure 1000 tokens/s: 2000 prompt tokens computed in 2 s of waiting
        AdmissionControl.Ticket m = admitted(a.admit("", 2000, 1, 0));
        now += 2_000 * MS;
        m.prefilled();
        m.ended(1);
        assertEquals(1000.0, a.prefillTokensPerSecond(), 1e-6);
        admitted(a.admit("", 1000, 1, 0)); // nothing queued: taken
        admitted(a.admit("", 500, 1, 0)); // 1.5 s predicted
        Refused r = refused(a.admit("", 3000, 1, 0), Reason.TTFT); // (1500 + 3000) / 1000 = 4.5 s
        assertEquals(503, r.reason().status);
        assertEquals(3, r.retryAfterSeconds()); // 2.5 s over, rounded up
        admitted(a.admit("", 400, 1, 0)); // 1.9 s: still within
        assertEquals(1900 * MS, a.predictedTtftNanos(0));
    }

    @Test
    void shouldQueueLittleBeforeTheSpeedIsMeasured() {
        AdmissionControl a = control(open().withMaxTtft(Duration.ofSeconds(2)));
        AdmissionControl.Ticket first = admitted(a.admit("", 5000, 1, 0));
        admitted(a.admit("", 3000, 1, 0));
        refused(a.admit("", 1000, 1, 0), Reason.TTFT); // 9000 > 8192 with no speed known
        now += 1000 * MS;
        first.prefilled(); // 5000 tokens/s measured, 3000 queued
        admitted(a.admit("", 1000, 1, 0)); // 0.8 s predicted
    }

    /** A short first prompt (its wait mostly fixed latency) does not make a speed that refuses what follows. */
    @Test
    void shouldNotPredictFromAFewShortFirstPrompts() {
        AdmissionControl a = control(open().withMaxTtft(Duration.ofSeconds(10)));
        AdmissionControl.Ticket hi = admitted(a.admit("", 3, 1, 0));
        now += 300 * MS; // 10 tokens/s, were it believed
        hi.prefilled();
        hi.ended(1);
        assertTrue(Double.isNaN(a.prefillTokensPerSecond()), "no speed from 3 tokens");
        for (int i = 0; i < 20; i++) {
            admitted(a.admit("", 400, 1, 0)); // 8,000 queued: within the cold bound
        }
        refused(a.admit("", 400, 1, 0), Reason.TTFT); // 8,400 > 8,192
    }

    @Test
    void shouldChangeNoCountForARefusedRequest() {
        AdmissionControl a = control(open().withBounds(1, 1_000_000, 0).withKeyLimits(0, 0, 100, 0));
        AdmissionControl.Ticket t = admitted(a.admit("k", 10, 10, 0));
        refused(a.admit("k", 10, 10, 0), Reason.REQUESTS_IN_FLIGHT);
        refused(a.admit("k", 10, 10, 0), Reason.REQUESTS_IN_FLIGHT);
        assertEquals(1, a.requestsInFlight());
        assertEquals(10, a.queuedPromptTokens());
        t.ended(10);
        // the key's bucket paid for one request only: 80 tokens are left
        admitted(a.admit("k", 40, 40, 0));
    }

    @Test
    void shouldCutTheRetryAfterToItsMaximum() {
        AdmissionControl a = control(open().withKeyLimits(0.001, 1, 0, 0));
        admitted(a.admit("k", 1, 1, 0));
        assertEquals(60, refused(a.admit("k", 1, 1, 0), Reason.KEY_REQUESTS).retryAfterSeconds());
    }
}
