// QuarryEmbed
