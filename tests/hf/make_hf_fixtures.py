#!/usr/bin/python3
"""Tiny random Hugging Face models made with `transformers`, and their logits.

Writes tests/hf/fixtures/<arch>/ (config.json, model.safetensors, tokenizer.json,
tokenizer_config.json) for llama (grouped-query attention), gpt2 and qwen2 (q/k/v
biases), F32, two layers, dim 64, and tests/hf/fixtures/<arch>/logits.bin: the logits of
a fixed token sequence (little-endian: int32 n_tokens, int32 n_vocab, int32 tokens[n],
float32 logits[n][n_vocab]). The tokenizer is a byte-level BPE trained here with the
`tokenizers` package on a slice of tinyshakespeare (vocab 320), so folders stay small.

Run once by hand (needs torch and transformers; Debian's python3-torch + pip
transformers==4.40.2 were used); the outputs are committed and the ctest needs neither.
usage: /usr/bin/python3 tests/hf/make_hf_fixtures.py [SHARED_DIR]
"""
import json, os, struct, sys

import torch
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers

here = os.path.dirname(os.path.abspath(__file__))
shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "../../../shared")
text = open(os.path.join(shared, "data/tinyshakespeare/input.txt"), encoding="utf-8").read()[:200000]

tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<|endoftext|>"],
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train_from_iterator([text], trainer)
V = tok.get_vocab_size()
prompt = "ROMEO:\nBut soft, what light through yonder window breaks?"
ids = tok.encode(prompt).ids

torch.manual_seed(1234)
cfgs = {
    "llama": transformers.LlamaConfig(vocab_size=V, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                                      rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False),
    "qwen2": transformers.Qwen2Config(vocab_size=V, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                                      rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True),
    "gpt2": transformers.GPT2Config(vocab_size=V, n_embd=64, n_layer=2, n_head=4, n_positions=128,
                                    activation_function="gelu_new", layer_norm_epsilon=1e-5),
}
classes = {"llama": transformers.LlamaForCausalLM, "qwen2": transformers.Qwen2ForCausalLM,
           "gpt2": transformers.GPT2LMHeadModel}
for arch, cfg in cfgs.items():
    model = classes[arch](cfg).eval()
    with torch.no_grad():  # larger random weights than the default init, so logits differ clearly
        for p in model.parameters():
            p.normal_(0.0, 0.08)
    out = os.path.join(here, "fixtures", arch)
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    json.dump({"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "add_bos_token": False,
               "chat_template": "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"},
              open(os.path.join(out, "tokenizer_config.json"), "w"), indent=1)
    for extra in ["generation_config.json"]:
        if os.path.exists(os.path.join(out, extra)):
            os.remove(os.path.join(out, extra))
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float().numpy()
    with open(os.path.join(out, "logits.bin"), "wb") as f:
        f.write(struct.pack("<ii", len(ids), V))
        f.write(struct.pack("<%di" % len(ids), *ids))
        f.write(logits.astype("<f4").tobytes())
    print(arch, "vocab", V, "tokens", len(ids), "params", sum(p.numel() for p in model.parameters()),
          "transformers", transformers.__version__)
