//go:build js && wasm

package jsutil

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"
)

// JSError is a JavaScript exception or promise rejection.
type JSError struct {
	Name, Message string
}

func (e *JSError) Error() string {
	if e.Name == "" {
		return e.Message
	}
	return e.Name + ": " + e.Message
}

// ErrorOf turns a thrown or rejected JavaScript value into an error.
func ErrorOf(v js.Value) error {
	if v.Type() == js.TypeObject {
		name, msg := v.Get("name"), v.Get("message")
		if msg.Type() == js.TypeString {
			e := &JSError{Message: msg.String()}
			if name.Type() == js.TypeString {
				e.Name = name.String()
			}
			return e
		}
	}
	return &JSError{Message: v.String()}
}

// Await waits for promise p to settle, or for ctx. It must be called from
// a goroutine, never from a js.FuncOf callback (the promise could not
// settle while the event loop is held).
func Await(ctx context.Context, p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var onOK, onErr js.Func
	onOK = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: arg(args)}
		return nil
	})
	onErr = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: ErrorOf(arg(args))}
		return nil
	})
	p.Call("then", onOK, onErr)
	select {
	case r := <-ch:
		onOK.Release()
		onErr.Release()
		return r.v, r.err
	case <-ctx.Done():
		// The callbacks stay alive until the promise settles: releasing them
		// now would make the settling call a released function.
		go func() {
			<-ch
			onOK.Release()
			onErr.Release()
		}()
		return js.Undefined(), ctx.Err()
	}
}

func arg(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

// Promise returns a JavaScript promise settled by fn, which runs in its own
// goroutine: a resolved value (converted with js.ValueOf), or a rejection
// with an Error whose message is err's. A panic in fn rejects the promise
// instead of killing the program.
func Promise(fn func() (any, error)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			defer executor.Release()
			v, err := run(fn)
			if err != nil {
				reject.Invoke(NewError(err))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	return js.Global().Get("Promise").New(executor)
}

func run(fn func() (any, error)) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return fn()
}

// Code is implemented by errors that carry a short machine-readable code
// for the page (such as "wrong-passphrase").
type Code interface{ Code() string }

// NewError returns a JavaScript Error with err's message, and err's code
// (see Code) in its "code" property.
func NewError(err error) js.Value {
	e := js.Global().Get("Error").New(err.Error())
	var c Code
	if errors.As(err, &c) {
		e.Set("code", c.Code())
	}
	return e
}

// Bytes copies a Go byte slice into a new Uint8Array.
func Bytes(b []byte) js.Value {
	u := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u, b)
	return u
}

// GoBytes copies a Uint8Array or ArrayBuffer into a new Go slice.
func GoBytes(v js.Value) []byte {
	if v.InstanceOf(js.Global().Get("ArrayBuffer")) {
		v = js.Global().Get("Uint8Array").New(v)
	}
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}
