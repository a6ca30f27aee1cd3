/**
 * Model definitions.
 *
 * <ul>
 *   <li>{@link dev.baton.engine.model.Architecture}: llama and qwen2, with their RoPE style and biases.</li>
 *   <li>{@link dev.baton.engine.model.ModelConfig}: geometry and hyper-parameters from GGUF metadata.</li>
 *   <li>{@link dev.baton.engine.model.Weights}: the tensors, bound and shape-checked, left in the mapping.</li>
 *   <li>{@link dev.baton.engine.model.DemoModel}: the embedded deterministic demo model (random weights).</li>
 *   <li>{@link dev.baton.engine.model.ModelFormatException}: a file the engine cannot run.</li>
 * </ul>
 */
package dev.baton.engine.model;
