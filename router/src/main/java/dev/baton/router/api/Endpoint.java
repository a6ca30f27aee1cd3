package dev.baton.router.api;

/** The API's endpoints, as the {@code endpoint} tag of metrics (a fixed set: low cardinality). */
enum Endpoint {
    COMPLETIONS("/v1/completions"),
    CHAT_COMPLETIONS("/v1/chat/completions"),
    MODELS("/v1/models"),
    CLUSTER("/v1/cluster"),
    HEALTH("/health"),
    READY("/ready"),
    METRICS("/metrics"),
    /** Any path that is none of the above (answered 404). */
    OTHER("other");

    final String path;

    Endpoint(String path) {
        this.path = path;
    }

    static Endpoint of(String path) {
        for (Endpoint e : values()) {
            if (e.path.equals(path)) {
                return e;
            }
        }
        return OTHER;
    }
}
