;; An Extism plugin equivalent to examples/spells/hello-wasm: `echo` returns
;; {"greeting":"hello","input":<input>} using the Extism kernel's input/output functions.
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{\"greeting\":\"hello\",\"input\":")
  (data (i32.const 128) "}\n")
  (func $put (param $dst i64) (param $src i32) (param $len i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (call $store_u8
          (i64.add (local.get $dst) (i64.extend_i32_u (local.get $i)))
          (i32.load8_u (i32.add (local.get $src) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
  (func (export "echo") (result i32)
    (local $len i64)
    (local $out i64)
    (local $i i64)
    (local.set $len (call $input_length))
    (local.set $out (call $alloc (i64.add (local.get $len) (i64.const 30))))
    (call $put (local.get $out) (i32.const 64) (i32.const 28))
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $len)))
        (call $store_u8
          (i64.add (i64.add (local.get $out) (i64.const 28)) (local.get $i))
          (call $input_load_u8 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (call $put (i64.add (i64.add (local.get $out) (i64.const 28)) (local.get $len)) (i32.const 128) (i32.const 2))
    (call $output_set (local.get $out) (i64.add (local.get $len) (i64.const 30)))
    (i32.const 0)))
