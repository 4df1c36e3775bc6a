;; hello-wasm: reads the input JSON from stdin and answers {"greeting":"hello","input":<input>}.
;; A WASI preview 1 command with no dependencies; built to spell.wasm by ../build.sh.
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  ;; 0..7: iovec, 16..19: nread/nwritten; the answer is built in one piece: the prefix sits right
  ;; before the input buffer at 1024, and "}\n" is appended after the input, so one write sends it all.
  (data (i32.const 996) "{\"greeting\":\"hello\",\"input\":")
  (func (export "_start")
    (local $used i32)
    (local $n i32)
    ;; read all of stdin into [1024, 1024 + 64 KiB)
    (block $eof
      (loop $more
        (i32.store (i32.const 0) (i32.add (i32.const 1024) (local.get $used)))
        (i32.store (i32.const 4) (i32.sub (i32.const 65536) (local.get $used)))
        (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16))
          (then (call $proc_exit (i32.const 2))))
        (local.set $n (i32.load (i32.const 16)))
        (br_if $eof (i32.eqz (local.get $n)))
        (local.set $used (i32.add (local.get $used) (local.get $n)))
        (br_if $eof (i32.ge_u (local.get $used) (i32.const 65536)))
        (br $more)))
    (if (i32.eqz (local.get $used))
      (then
        (i32.store (i32.const 1024) (i32.const 0x6c6c756e)) ;; "null" when stdin is empty
        (local.set $used (i32.const 4))))
    (i32.store16 (i32.add (i32.const 1024) (local.get $used)) (i32.const 0x0a7d)) ;; "}\n"
    (i32.store (i32.const 0) (i32.const 996))
    (i32.store (i32.const 4) (i32.add (local.get $used) (i32.const 30)))
    (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))
      (then (call $proc_exit (i32.const 1))))
    ;; a short write cannot happen with the runtime's in-memory stdout; fail loudly if it ever does
    (if (i32.ne (i32.load (i32.const 16)) (i32.add (local.get $used) (i32.const 30)))
      (then (call $proc_exit (i32.const 1))))))
