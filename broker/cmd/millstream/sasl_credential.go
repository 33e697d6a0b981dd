package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/millstream/millstream/broker/auth"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// newSASLCredentialCmd prints the sasl-users entry of a user with derived
// SCRAM credentials, so the broker's config file need not hold the
// password.
func newSASLCredentialCmd() *cobra.Command {
	var mechanisms []string
	var iterations int
	cmd := &cobra.Command{
		Use:   "sasl-credential USER",
		Short: "Derive a user's SCRAM credentials for the broker's sasl-users (password on stdin)",
		Long: `Read a password from the first line of standard input and print the
sasl-users entry of USER with SCRAM credentials derived from it (a random
salt each). Paste it under sasl-users in the broker's --config file: the
broker then never sees the password, and PLAIN logins are still checked
against the credential.`,
		Example: `  printf '%s\n' "$PASSWORD" | millstream sasl-credential alice >> users.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			pass := strings.TrimRight(line, "\r\n")
			if pass == "" {
				if err != nil {
					return fmt.Errorf("read password from stdin: %w", err)
				}
				return errors.New("read password from stdin: the first line is empty")
			}
			var u auth.User
			for _, mech := range mechanisms {
				salt := make([]byte, 24)
				if _, err := rand.Read(salt); err != nil {
					return fmt.Errorf("random salt: %w", err)
				}
				cred, err := auth.DeriveSCRAM(mech, pass, salt, iterations)
				if err != nil {
					return err
				}
				if mech == auth.ScramSHA256 {
					u.ScramSHA256 = &cred
				} else {
					u.ScramSHA512 = &cred
				}
			}
			out, err := yaml.Marshal(map[string]auth.User{args[0]: u})
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.Flags().StringSliceVar(&mechanisms, "mechanisms", []string{auth.ScramSHA256, auth.ScramSHA512}, "SCRAM mechanisms to derive credentials for")
	cmd.Flags().IntVar(&iterations, "iterations", auth.DefaultIterations, "PBKDF2 iterations (4096 to 1048576)")
	return cmd
}
