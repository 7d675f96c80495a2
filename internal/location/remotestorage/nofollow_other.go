//go:build !unix

package remotestorage

const noFollow = 0
