Console.WriteLine("bench: not landed yet.");
