//go:build !unix

package location

const noFollow = 0
