/* The time page's code: clock_gettime, gettimeofday and time without a stop.
 *
 * Assembled once by hand (tests/test_timepage.py checks that virt/timepage.py
 * holds these bytes); placed at CODE_OFF in the page's first 4 KiB, the data
 * page right after that 4 KiB.  Built with:
 *     gcc -c -o timepage.o virt/timepage.S && objcopy -O binary -j .text timepage.o timepage.bin
 *
 * Data page: u32 mode (1 record, 2 replay, anything else: make the call as a
 * syscall the tracer stops on), u32 count, u32 head, then CAP entries of
 * ESIZE bytes: u32 nr, u32 clock, u64 pointer, i64 result, u64 w0, u64 w1
 * (the timespec or timeval written, or time's value).
 *
 * Record: the call is made at untraced_end - 2, which the seccomp filter lets
 * through, and its result appended at count.  Replay: the entry at head is
 * taken if it is the same call (number, clock, pointer), and its bytes
 * written where the kernel wrote them.  Every way out leaves the same
 * registers: the result in rax, the other call-clobbered ones zero, so that
 * the program's registers after the call do not depend on the way taken.
 */
#define CODE_OFF 512
#define MODE 0
#define COUNT 4
#define HEAD 8
#define ENTRIES 64
#define ESIZE 40
#define CAP 100

        .text
code:
        .set data, code - CODE_OFF + 4096

clock_gettime_entry:            /* offset 0 */
        mov %edi, %edi          /* clockid_t is an int: the same word every time */
        mov $228, %eax
        mov %edi, %edx
        mov %rsi, %r10
        cmp $11, %edi           /* the static clocks only: others may name a pid */
        ja traced
        jmp common
        .balign 32
gettimeofday_entry:             /* offset 32 */
        mov $96, %eax
        xor %edx, %edx
        mov %rdi, %r10
        test %rsi, %rsi         /* a timezone asked for: the kernel's, traced */
        jnz traced
        jmp common
        .balign 32
time_entry:                     /* offset 64 */
        mov $201, %eax
        xor %edx, %edx
        mov %rdi, %r10
        jmp common
        .balign 32

common:                         /* eax nr, edx clock, r10 pointer; rdi, rsi the call's */
        mov data+MODE(%rip), %r8d
        cmp $1, %r8d
        jne replay
        mov data+COUNT(%rip), %r8d
        cmp $CAP, %r8d
        jae traced
        mov %eax, %r9d
        syscall
untraced_end:
        imul $ESIZE, %r8, %rcx
        lea data+ENTRIES(%rip), %r11
        add %r11, %rcx
        mov %r9d, (%rcx)
        mov %edx, 4(%rcx)
        mov %r10, 8(%rcx)
        mov %rax, 16(%rcx)
        cmp $201, %r9d
        je 3f
        test %rax, %rax
        jnz 4f
        test %r10, %r10
        jz 4f
        mov (%r10), %r11
        mov %r11, 24(%rcx)
        mov 8(%r10), %r11
        mov %r11, 32(%rcx)
        jmp 4f
3:      mov %rax, 24(%rcx)
4:      inc %r8d
        mov %r8d, data+COUNT(%rip)
        jmp done

replay:
        cmp $2, %r8d
        jne traced
        mov data+HEAD(%rip), %r8d
        cmp data+COUNT(%rip), %r8d
        jae traced
        imul $ESIZE, %r8, %rcx
        lea data+ENTRIES(%rip), %r11
        add %r11, %rcx
        cmp %eax, (%rcx)
        jne traced
        cmp %edx, 4(%rcx)
        jne traced
        cmp %r10, 8(%rcx)
        jne traced
        inc %r8d
        mov %r8d, data+HEAD(%rip)
        mov 16(%rcx), %rax
        test %r10, %r10
        jz done
        cmpl $201, (%rcx)
        je 6f
        test %rax, %rax
        jnz done
        mov 24(%rcx), %r11
        mov %r11, (%r10)
        mov 32(%rcx), %r11
        mov %r11, 8(%r10)
        jmp done
6:      cmp $-4095, %rax
        jae done
        mov %rax, (%r10)
        jmp done

traced:                         /* a syscall the tracer stops on */
        xor %r8d, %r8d
        xor %r9d, %r9d
        syscall
done:
        xor %ecx, %ecx
        xor %edx, %edx
        xor %esi, %esi
        xor %edi, %edi
        xor %r8d, %r8d
        xor %r9d, %r9d
        xor %r10d, %r10d
        xor %r11d, %r11d
        ret
