package cli

import (
	"io"

	"github.com/spf13/cobra"
)

// bashStandIns stands in for the two functions of the bash-completion
// package that cobra's bash script calls, where that package is not
// loaded (a bare bash, a minimal container, macOS's bash 3): without them
// "source <(vaultdb completion bash)" fails with "command not found".
const bashStandIns = `# Stand-ins for bash-completion's functions, used only where that package
# is not loaded.
if ! declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
_get_comp_words_by_ref()
{
    local exclude= i j=-1 cw=0 join=0 t
    if [[ $1 == -n ]]; then exclude=$2; shift 2; fi
    # Rejoin the words bash split at the characters of $exclude (= and :).
    local -a ws=()
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        t=${COMP_WORDS[i]}
        if ((j >= 0)) && { ((join)) || [[ -n $exclude && $t == [$exclude] ]]; }; then
            ws[j]+=$t
        else
            ws[++j]=$t
        fi
        join=0
        [[ -n $exclude && $t == [$exclude] ]] && join=1
        ((i == COMP_CWORD)) && cw=$j
    done
    for t in "$@"; do
        case $t in
            cur) cur=${ws[cw]} ;;
            prev) prev=${ws[cw-1]} ;;
            words) words=("${ws[@]}") ;;
            cword) cword=$cw ;;
        esac
    done
}
fi
if ! declare -F _filedir >/dev/null 2>&1; then
_filedir()
{
    local IFS=$'\n'
    if [[ $1 == -d ]]; then
        COMPREPLY+=($(compgen -d -- "$cur"))
    else
        COMPREPLY+=($(compgen -f -- "$cur"))
    fi
}
fi

`

// useOwnBashCompletion makes "completion bash" print cobra's script (v2)
// after the stand-ins above.
func useOwnBashCompletion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		for _, sh := range c.Commands() {
			if sh.Name() != "bash" {
				continue
			}
			sh.Long += "\n\nThe script works with or without the bash-completion package."
			sh.RunE = func(c *cobra.Command, _ []string) error {
				noDesc, _ := c.Flags().GetBool("no-descriptions")
				out := c.OutOrStdout()
				if _, err := io.WriteString(out, bashStandIns); err != nil {
					return err
				}
				return root.GenBashCompletionV2(out, !noDesc)
			}
		}
	}
}
