;; Traps in its start function, during instantiation.
(module
  (memory (export "memory") 1)
  (func $init unreachable)
  (start $init)
  (func (export "_start")))
