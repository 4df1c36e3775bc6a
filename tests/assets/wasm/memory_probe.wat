;; Prints 1 if its memory holds anything but zeros at 60000 when it starts, else 0; then fills the
;; whole page with 0x5A, so a later cast given the same memory would see it.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store8 (i32.const 100)
      (i32.add (i32.const 48) (i32.ne (i32.load8_u (i32.const 60000)) (i32.const 0))))
    (memory.fill (i32.const 200) (i32.const 0x5a) (i32.const 65336))
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 1))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))
