/**
 * Chat templates: a conversation rendered to the prompt text a model was trained on.
 *
 * <ul>
 *   <li>{@link dev.baton.engine.chat.ChatTemplate}: a model's Jinja template ({@code tokenizer.chat_template},
 *       ChatML by default) rendered with Jinjava as Hugging Face renders it.</li>
 *   <li>{@link dev.baton.engine.chat.ChatMessage}: one turn, a role and its content.</li>
 *   <li>{@link dev.baton.engine.chat.ChatTemplateException}: a template that does not parse, raises or fails.</li>
 *   <li>{@code PythonMethods}: the Python string and dict methods templates call, for Jinjava.</li>
 * </ul>
 */
package dev.baton.engine.chat;
