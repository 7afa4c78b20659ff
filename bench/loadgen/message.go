package loadgen

import "strconv"

// appendRecipient appends a valid mobile number, one of n distinct ones, for
// request seq. Half are Israeli (97250[2-9]xxxxxx), half Brazilian
// (55119[6-9]xxxxxxx), so both country prefixes and sticky splits see spread.
func appendRecipient(dst []byte, seq uint64, n int) []byte {
	k := mix64(seq) % uint64(n)
	if k%2 == 0 {
		dst = append(dst, "97250"...)
		dst = append(dst, byte('2'+(k/2)%8))
		return appendPadded(dst, (k/16)%1_000_000, 6)
	}
	dst = append(dst, "55119"...)
	dst = append(dst, byte('6'+(k/2)%4))
	return appendPadded(dst, (k/8)%10_000_000, 7)
}

func appendPadded(dst []byte, v uint64, width int) []byte {
	var buf [20]byte
	s := strconv.AppendUint(buf[:0], v, 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// mix64 is splitmix64's finaliser: consecutive sequence numbers map to
// unrelated recipients.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
