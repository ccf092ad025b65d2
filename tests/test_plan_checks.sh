#!/usr/bin/env bash
# test_plan_checks.sh — a model's checkpoint is checked when the run is planned: `run` and
# `sweep` with a corrupt model.safetensors (overlapping offsets, a bad header, a wrong shape),
# or a FIFO or a folder in its place, exit 2 with one line naming the file, create no results
# folder and run no other model first. The good checkpoint runs, --random-weights reads no
# checkpoint, and generate refuses a corrupt one with exit 2 as well.
# Usage: test_plan_checks.sh PATH/TO/joulebench SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"
jb_test_init "$@"
command -v python3 >/dev/null || { echo "SKIP: no python3 to write the checkpoints"; exit 77; }

# mk_models DIR:FAULT...: tiny Llamas (tied embeddings) with F32 checkpoints, spoilt by FAULT:
# none, overlap (model.norm.weight over the embedding's bytes), header (length past the end),
# shape (k_proj's rows doubled, offsets to match). One python3 for all: it starts slowly.
mk_models() {
    for m in "$@"; do
        mkdir -p "${m%%:*}"
        cat >"${m%%:*}/config.json" <<'EOF'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8,
 "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
 "num_key_value_heads": 1, "vocab_size": 32, "max_position_embeddings": 64,
 "rope_theta": 10000.0, "rms_norm_eps": 1e-05, "tie_word_embeddings": true,
 "hidden_act": "silu", "torch_dtype": "float32"}
EOF
    done
    python3 - "$@" <<'EOF'
import json, struct, sys
d, f, kv, v = 8, 16, 4, 32
for arg in sys.argv[1:]:
    folder, fault = arg.split(":")
    shapes = [("model.embed_tokens.weight", [v, d]),
              ("model.layers.0.input_layernorm.weight", [d]),
              ("model.layers.0.self_attn.q_proj.weight", [d, d]),
              ("model.layers.0.self_attn.k_proj.weight", [2 * kv if fault == "shape" else kv, d]),
              ("model.layers.0.self_attn.v_proj.weight", [kv, d]),
              ("model.layers.0.self_attn.o_proj.weight", [d, d]),
              ("model.layers.0.post_attention_layernorm.weight", [d]),
              ("model.layers.0.mlp.gate_proj.weight", [f, d]),
              ("model.layers.0.mlp.up_proj.weight", [f, d]),
              ("model.layers.0.mlp.down_proj.weight", [d, f]),
              ("model.norm.weight", [d])]
    header, data = {}, b""
    for i, (name, shape) in enumerate(shapes):
        n = 1
        for s in shape:
            n *= s
        vals = [1.0] * n if name.endswith("norm.weight") \
            else [((i * 7 + k * 3) % 11 - 5) / 20 for k in range(n)]
        begin = len(data)
        data += struct.pack("<%df" % n, *vals)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [begin, len(data)]}
    if fault == "overlap":
        e = header["model.norm.weight"]["data_offsets"]
        header["model.norm.weight"]["data_offsets"] = [0, e[1] - e[0]]
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    n = len(h) + (1 << 20 if fault == "header" else 0)
    open(folder + "/model.safetensors", "wb").write(struct.pack("<Q", n) + h + data)
EOF
}

printf '[workload]\nscenario = single-stream\nprompt_tokens = fixed 6\noutput_tokens = fixed 3\n' >short.ini
quick=(--workload ./short.ini --requests 1 --reps 1 --warmup 0 --idle-s 0)
mk_models good:none overlap:overlap header:header shape:shape fifo:none folder:none
rm fifo/model.safetensors && mkfifo fifo/model.safetensors
rm folder/model.safetensors && mkdir folder/model.safetensors

# --- the good checkpoint runs (so the refusals below are the checkpoints' doing)
if "$jb" run --model ./good "${quick[@]}" --out good_out >good.out 2>good.err \
    && [ "$(($(wc -l <good_out/runs.csv) - 1))" -eq 1 ]; then
    grep -q "good/model.safetensors" good_out/runs.csv && ok "good checkpoint runs from its weights" \
        || fail "runs.csv does not name the checkpoint: $(cat good_out/runs.csv)"
else
    fail "good checkpoint: $(cat good.err)"
fi

# refused NAME TEXT ARGS...: exit 2, one line naming TEXT, no results folder NAME_out
refused() {
    local name=$1 text=$2
    shift 2
    timeout 60 "$jb" "$@" --out "${name}_out" >"$name.out" 2>"$name.err"
    local got=$?
    if [ "$got" -ne 2 ]; then
        fail "$name: exit $got, expected 2: $(head -2 "$name.err")"
    elif ! grep -qF -- "$text" "$name.err"; then
        fail "$name: error lacks \"$text\": $(cat "$name.err")"
    elif [ "$(wc -l <"$name.err")" -ne 1 ]; then
        fail "$name: $(wc -l <"$name.err") error lines: $(cat "$name.err")"
    elif [ -e "${name}_out" ]; then
        fail "$name: results folder created: $(ls -R "${name}_out")"
    else
        ok "$name: exit 2, \"$text\", nothing written"
    fi
}
refused run_overlap 'overlap/model.safetensors: tensor "model.embed_tokens.weight"' \
    run --model ./overlap "${quick[@]}"
refused run_header "header/model.safetensors: header length" run --model ./header "${quick[@]}"
refused run_shape 'k_proj.weight": shape [8, 8], the config implies [4, 8]' \
    run --model ./shape "${quick[@]}"
refused run_fifo "fifo/model.safetensors: is a FIFO" run --model ./fifo "${quick[@]}"
refused run_folder "folder/model.safetensors: is a directory" run --model ./folder "${quick[@]}"
# a sweep refuses before its first repetition: the good model is not run first
refused sweep_good_bad "overlap/model.safetensors" sweep --models ./good,./overlap \
    --workloads ./short.ini --dtypes f32,q8_0 --requests 1 --reps 2 --warmup 0 --idle-s 0
# --random-weights ignores the checkpoint, so it is not read at all
"$jb" run --model ./overlap "${quick[@]}" --random-weights --out random_out >random.out 2>random.err \
    && ok "--random-weights does not read the checkpoint" || fail "--random-weights: $(cat random.err)"
# generate refuses the same checkpoint with the same exit status
timeout 60 "$jb" generate --model ./overlap --prompt-ids 1,2,3 --max-tokens 2 >gen.out 2>gen.err
rc=$?
[ "$rc" -eq 2 ] && grep -q "overlap" gen.err && ok "generate: exit 2 too" || fail "generate: exit $rc: $(cat gen.err)"

jb_test_end test_plan_checks
