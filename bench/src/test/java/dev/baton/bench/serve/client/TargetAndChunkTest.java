package dev.baton.bench.serve.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.bench.serve.metrics.Usage;
import java.io.IOException;
import java.net.URI;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class TargetAndChunkTest {

    final ObjectMapper json = new ObjectMapper();

    @Test
    void shouldParseTargetsWithNameNodesAndModel() {
        Target t = Target.parse("baton=http://127.0.0.1:8080/v1,nodes=3,model=small");
        assertEquals("baton", t.name());
        assertEquals(URI.create("http://127.0.0.1:8080/v1/"), t.baseUrl());
        assertEquals(3, t.nodes());
        assertEquals("small", t.model());
        Target bare = Target.parse("http://localhost:9000");
        assertEquals("localhost:9000", bare.name());
        assertEquals(URI.create("http://localhost:9000/v1/"), bare.baseUrl());
        assertEquals(URI.create("http://localhost:9000/v1/chat/completions"), bare.baseUrl().resolve("chat/completions"));
        assertThrows(IllegalArgumentException.class, () -> Target.parse("localhost:9000"));
        assertThrows(IllegalArgumentException.class, () -> Target.parse("http://h:1/v1,gpus=2"));
        assertThrows(IllegalArgumentException.class, () -> Target.parse("http://h:1/v1,nodes=0"));
    }

    @Test
    void shouldReadTextDeltasUsageAndErrorsFromChunks() throws IOException {
        assertEquals(" a", StreamChunk.of(json.readTree("{\"choices\":[{\"text\":\" a\"}]}")).content());
        assertEquals("b", StreamChunk.of(json.readTree("{\"choices\":[{\"delta\":{\"content\":\"b\"}}]}")).content());
        assertNull(StreamChunk.of(json.readTree("{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}")).content());
        assertNull(StreamChunk.of(json.readTree("{\"choices\":[{\"delta\":{\"content\":null}}]}")).content());
        StreamChunk u = StreamChunk.of(json.readTree(
                "{\"choices\":[],\"usage\":{\"prompt_tokens\":720,\"completion_tokens\":32,\"prompt_tokens_details\":{\"cached_tokens\":512}}}"));
        assertNull(u.content());
        assertEquals(new Usage(720, 32, 512), u.usage());
        assertEquals(new Usage(5, 6, -1), StreamChunk.of(json.readTree("{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6}}")).usage());
        assertEquals("overloaded", StreamChunk.of(json.readTree("{\"error\":{\"message\":\"overloaded\"}}")).error());
    }
}
