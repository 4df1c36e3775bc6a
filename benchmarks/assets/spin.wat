;; CPU-bound guest for the thread-scaling benchmark: counts down from the i32 in its input and prints {}.
;; Input is a bare JSON number (ASCII digits) read from stdin.
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 512) "{}\n")
  (func (export "_start")
    (local $n i32) (local $i i32) (local $len i32) (local $acc i32)
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 64))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
    (local.set $len (i32.load (i32.const 16)))
    (block $done
      (loop $digit
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 10))
                               (i32.sub (i32.load8_u (i32.add (i32.const 1024) (local.get $i))) (i32.const 48))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $digit)))
    (block $end
      (loop $spin
        (br_if $end (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (i32.xor (local.get $n) (i32.const 0x5bd1e995))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $spin)))
    (i32.store (i32.const 0) (i32.const 512))
    (i32.store (i32.const 4) (i32.sub (i32.const 3) (i32.and (local.get $acc) (i32.const 0))))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))
