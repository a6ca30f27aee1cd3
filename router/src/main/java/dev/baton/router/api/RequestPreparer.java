package dev.baton.router.api;

import dev.baton.engine.chat.ChatTemplateException;
import dev.baton.engine.sampling.InvalidSamplingParamsException;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.tokenizer.Tokenizer;
import dev.baton.engine.tokenizer.TokenizerException;
import dev.baton.router.api.openai.ApiError;
import dev.baton.router.api.openai.ApiException;
import dev.baton.router.api.openai.CompletionRequest;
import dev.baton.router.api.openai.CompletionRequest.Kind;
import dev.baton.router.api.openai.CompletionRequest.Prompt;
import dev.baton.router.api.openai.RequestLimits;

/**
 * Turns a type-checked request into what the backend runs: checks the model name, renders chat
 * messages with the model's template, tokenizes, fits {@code max_tokens} to the context and
 * validates the sampling fields against the model. Every refusal is an {@link ApiException}.
 *
 * <p>Tokenization rules: a completion prompt given as text is encoded with the model's special
 * tokens (BOS where the model asks for it) and control tokens in the text parsed; token ids are
 * used as given. A chat prompt is the template's rendering with {@code add_generation_prompt},
 * control tokens parsed, and BOS added only when the rendering does not already start with it.
 *
 * <p>{@code max_tokens} when absent: 16 for completions (OpenAI's default), the rest of the context
 * for chat; either is capped by the room the prompt leaves and by the router's {@code max-tokens}
 * limit. A prompt of more tokens than the router's {@code max-prompt-tokens} is refused (the other
 * {@link RequestLimits} are the parser's: they are known before tokenization).
 *
 * <p>Stateless apart from the model; thread-safe.
 */
final class RequestPreparer {

    /** OpenAI's and vLLM's default {@code max_tokens} for completions. */
    static final int DEFAULT_COMPLETION_MAX_TOKENS = 16;

    /** A request ready for {@link GenerationBackend#submit}. */
    record Prepared(int[] promptTokens, SamplingParams params) {}

    private final ModelCard model;
    private final RequestLimits limits;

    RequestPreparer(ModelCard model, RequestLimits limits) {
        this.model = model;
        this.limits = limits;
    }

    /** @throws ApiException 404 for another model, 400 for a prompt or field the model cannot take */
    Prepared prepare(CompletionRequest request) {
        if (request.model() != null && !request.model().equals(model.id())) {
            throw new ApiException(ApiError.modelNotFound(request.model(), model.id()));
        }
        int[] prompt = tokens(request.prompt());
        String promptParam = request.kind() == Kind.CHAT ? "messages" : "prompt";
        if (prompt.length == 0) {
            throw ApiException.invalid(promptParam, "the prompt is empty: at least one token is needed");
        }
        if (limits.maxPromptTokens() > 0 && prompt.length > limits.maxPromptTokens()) {
            throw ApiException.invalid(promptParam, "the prompt has " + prompt.length
                    + " tokens, over this server's limit of " + limits.maxPromptTokens() + " (max-prompt-tokens)");
        }
        int context = model.contextLength();
        int room = context - prompt.length;
        if (room < 1) {
            throw new ApiException(ApiError.contextLengthExceeded(promptParam, "this model's maximum context length is "
                    + context + " tokens, but the prompt has " + prompt.length + " tokens and leaves no room to generate"));
        }
        int maxTokens;
        if (request.maxTokens().isPresent()) {
            maxTokens = request.maxTokens().getAsInt();
            if (maxTokens > room) {
                throw new ApiException(ApiError.contextLengthExceeded(request.maxTokensParam(),
                        "this model's maximum context length is " + context + " tokens, but " + (prompt.length + (long) maxTokens)
                                + " were requested (" + prompt.length + " in the " + promptParam + ", " + maxTokens
                                + " in " + request.maxTokensParam() + "); shorten the " + promptParam + " or lower "
                                + request.maxTokensParam()));
            }
        } else {
            maxTokens = request.kind() == Kind.CHAT ? room : Math.min(DEFAULT_COMPLETION_MAX_TOKENS, room);
            if (limits.maxTokens() > 0) {
                maxTokens = Math.min(maxTokens, limits.maxTokens());
            }
        }
        SamplingParams params = request.sampling().toBuilder().maxTokens(maxTokens).build();
        try {
            params.validate(model.vocabSize(), context);
        } catch (InvalidSamplingParamsException e) {
            String param = e.param().equals("max_tokens") ? request.maxTokensParam() : e.param();
            throw ApiException.invalid(param, e.getMessage());
        }
        return new Prepared(prompt, params);
    }

    private int[] tokens(Prompt prompt) {
        Tokenizer t = model.tokenizer();
        try {
            return switch (prompt) {
                case Prompt.Text text -> t.encode(text.text(), true, true);
                case Prompt.Tokens ids -> checkIds(ids.ids());
                case Prompt.Messages m -> {
                    yield model.chatTemplate().encodePrompt(m.messages(), t);
                }
            };
        } catch (ChatTemplateException e) {
            throw ApiException.invalid("messages", "the model's chat template refused the messages: " + e.getMessage());
        } catch (TokenizerException e) {
            throw ApiException.invalid(prompt instanceof Prompt.Messages ? "messages" : "prompt",
                    "the prompt cannot be tokenized: " + e.getMessage());
        }
    }

    private int[] checkIds(int[] ids) {
        int vocab = model.vocabSize();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw ApiException.invalid("prompt", "prompt token id " + ids[i] + " at position " + i
                        + " is outside the vocabulary (0.." + (vocab - 1) + ")");
            }
        }
        return ids;
    }
}
